// The health checker's side of membership (docs/architecture.md, "Membership"): a backend that
// joins a running pool starts in its initial_state and ramps up under slow start; one that leaves
// is drained and parked with its history for health::kRemovedHold; one that comes back within the
// hold is taken out of the parking with its state machine, ejections and counters as they were.
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

void HealthChecker::park(std::unique_ptr<Target> target, TimePoint now) {
  retire_probe(*target);
  // Sessions on older snapshots still list it: the drain flag keeps their balancers from giving
  // it new work (even in panic), while what it is serving finishes.
  target->state->set_draining(true);
  target->ramping = false;
  const TimePoint until = now + health::kRemovedHold;
  next_parked_expiry_ = std::min(next_parked_expiry_, until);
  const health::BackendState* key = target->state.get();
  parked_[key] = Parked{std::move(target), until};
}

void HealthChecker::expire_parked(TimePoint now) {
  next_parked_expiry_ = TimePoint::max();
  const size_t before = parked_.size();
  std::erase_if(parked_, [&](const auto& entry) {
    if (entry.second.until <= now) return true;
    next_parked_expiry_ = std::min(next_parked_expiry_, entry.second.until);
    return false;
  });
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
