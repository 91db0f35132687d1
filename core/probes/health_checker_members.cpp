// The health checker's side of membership (docs/architecture.md, "Membership"): a backend that
// joins a running pool starts in its initial_state and ramps up under slow start; one that leaves
// is parked with its history for health::kRemovedHold and drained a second later; one that comes
// back within the hold is taken out of the parking with its state machine, ejections and counters
// as they were.
#include <algorithm>

#include "core/base/log.hpp"
#include "core/probes/health_checker.hpp"

namespace ringlb {

std::unique_ptr<HealthChecker::Target> HealthChecker::new_target(
    const balancers::BalancedBackend& backend, const PoolEntry& entry, bool joins_running,
    TimePoint now) {
  const health::State initial = entry.probe == nullptr ? health::State::kUp : entry.initial_state;
  auto target = std::make_unique<Target>(backend.state,
                                         health::BackendHealth(initial, entry.thresholds, now));
  target->appeared = joins_running;
  if (joins_running && initial == health::State::kUp && entry.slow_start.count() > 0) {
    start_ramp(*target, now);
  }
  return target;
}

std::unique_ptr<HealthChecker::Target> HealthChecker::take_parked(const health::BackendState* state,
                                                                  TimePoint now) {
  auto found = parked_.find(state);
  if (found == parked_.end()) return nullptr;
  std::unique_ptr<Target> target = std::move(found->second.target);
  parked_.erase(found);
  LOG_INFO("pool %s: backend %s is back within the hold; it keeps its health (%s for %s)",
           state->pool().c_str(), state->address().c_str(),
           health::to_string(target->machine.verdict()),
           health::format_duration(
               std::chrono::duration_cast<std::chrono::milliseconds>(now - target->machine.since()))
               .c_str());
  return target;  // adopt_pools attaches a probe and sync_flags() lifts the drain
}

// Sessions on older snapshots still list a backend that left. Workers adopt the new snapshot
// within a loop turn and close those HTTP connections after their current response, but a request
// picked in between, on a set where every backend left (a reload that swaps them all), would find
// none eligible and get a 503. So the drain flag, which keeps older snapshots' balancers (even in
// panic) from giving it new work, is set only this long after it left: by then only sessions that
// outlive a drain (a retry, an HTTP/2 connection finishing its streams) still pick from them.
constexpr std::chrono::seconds kParkedDrainDelay{1};

void HealthChecker::park(std::unique_ptr<Target> target, TimePoint now) {
  retire_probe(*target);
  target->ramping = false;
  const TimePoint drain_at = now + kParkedDrainDelay;
  next_parked_expiry_ = std::min(next_parked_expiry_, drain_at);
  const health::BackendState* key = target->state.get();
  parked_[key] = Parked{std::move(target), drain_at, now + health::kRemovedHold};
}

void HealthChecker::expire_parked(TimePoint now) {
  next_parked_expiry_ = TimePoint::max();
  const size_t before = parked_.size();
  for (auto it = parked_.begin(); it != parked_.end();) {
    Parked& parked = it->second;
    if (parked.until <= now) {
      it = parked_.erase(it);
      continue;
    }
    if (parked.drain_at <= now) {
      parked.target->state->set_draining(true);
      parked.drain_at = TimePoint::max();
    }
    next_parked_expiry_ = std::min({next_parked_expiry_, parked.drain_at, parked.until});
    ++it;
  }
  if (parked_.size() == before) return;
  LOG_DEBUG("forgot %zu backend(s) gone for longer than the hold", before - parked_.size());
  registry_.forget_unused();
}

void HealthChecker::start_ramp(Target& target, TimePoint since) {
  if (!target.ramping) ramping_.push_back(&target);
  target.ramping = true;
  target.ramp_since = since;
  target.state->set_weight_permille(health::kSlowStartFloorPermille);
  next_ramp_step_ = std::min(next_ramp_step_, since);
}

}  // namespace ringlb
