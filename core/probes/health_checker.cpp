// The health checker: one scheduler and one state machine per backend for every kind of probe,
// passive signals read in one place, and the publishing of each transition.
#include "core/probes/health_checker.hpp"

#include <algorithm>
#include <utility>

#include "core/base/log.hpp"

namespace ringlb {
namespace {

using health::State;
using std::chrono::milliseconds;

// How often passive signals are read while a pool has [passive]; a tripped backend is ejected
// within this much of its last failure.
constexpr milliseconds kPassivePollInterval{50};
// How often slow start weights are raised while a ramp is under way.
constexpr milliseconds kRampStep{50};
// How late a timer may fire so that timers close together share one wakeup: with a thousand
// backends checked every second, one wakeup per ~5 checks instead of one per check.
constexpr milliseconds kTimerSlack{5};

health::State initial_state(const config::HealthConfig& health) {
  return health.initial_state == config::InitialState::kUnknown ? State::kUnknown : State::kUp;
}

}  // namespace

HealthChecker::HealthChecker(Ring& ring, health::BackendRegistry& registry,
                             std::function<void()> republish)
    : ring_(ring), registry_(registry), republish_(std::move(republish)) {}

HealthChecker::~HealthChecker() { shutdown(milliseconds(1000)); }

HealthChecker::PoolEntry HealthChecker::make_pool_entry(const Pool& pool,
                                                        health::BackendRegistry& registry) {
  const config::PoolConfig& config = *pool.config;
  PoolEntry entry;
  entry.name = config.name;
  // The one place a pool's check kind meets the registry: nullptr for check = "none".
  entry.probe = config.health ? probe_factory(config::word(config.health->check)) : nullptr;
  if (entry.probe != nullptr) {
    const config::HealthConfig& health = *config.health;
    entry.http = {health.path, health.host, health::parse_status_ranges(health.expect_status),
                  health.expect_body};
    entry.timeout = health.timeout;
    entry.schedule = {health.interval, health.fast_interval, health.down_interval, health.jitter};
    entry.thresholds = {health.rise, health.fall};
    entry.initial_state = initial_state(health);
    entry.tls = pool.tls;
  }
  if (config.passive) {
    const config::PassiveConfig& passive = *config.passive;
    entry.passive = health::PassiveSettings{passive.consecutive_failures, passive.ejection_time,
                                            passive.max_ejection_time, passive.max_ejected_percent,
                                            passive.count_5xx};
  }
  entry.panic_threshold_percent = config.panic_threshold_percent;
  entry.serve_all = config.panic == config::PanicMode::kServeAll;
  entry.slow_start = config.slow_start;
  entry.rebuilds = pool.balancer->rebuilds_on_eligibility_change();
  entry.pool_health = registry.pool_health(config.name);
  entry.in_panic = entry.pool_health->panic() != health::PanicMode::kNone;
  return entry;
}

bool HealthChecker::same_probe(const PoolEntry& a, const PoolEntry& b) {
  // A reload that changed the pool's TLS files or settings built a new context.
  return a.probe == b.probe && a.timeout == b.timeout && a.http == b.http && a.tls == b.tls;
}

std::unique_ptr<Probe> HealthChecker::make_probe(const PoolEntry& pool,
                                                 const Target& target) const {
  std::unique_ptr<Probe> probe =
      pool.probe({target.address, pool.timeout, pool.http, target.state->address()});
  if (pool.tls) {
    probe->use_tls(pool.tls, "pool " + pool.name + ": backend " + target.state->address());
  }
  return probe;
}

void HealthChecker::on_reload(const Snapshot& snapshot) {
  const TimePoint now = Clock::now();
  adopt_pools(snapshot, now);
  run(now);
}

void HealthChecker::adopt_pools(const Snapshot& snapshot, TimePoint now) {
  std::vector<PoolEntry> previous = std::exchange(pools_, {});
  for (const auto& pool : snapshot.pools) pools_.push_back(make_pool_entry(*pool, registry_));
  std::unordered_map<const health::BackendState*, std::unique_ptr<Target>> kept;
  std::vector<std::pair<Target*, health::Transition>> changes;
  for (size_t p = 0; p < snapshot.pools.size(); ++p) {
    const Pool& pool = *snapshot.pools[p];
    PoolEntry& entry = pools_[p];
    const std::vector<balancers::BalancedBackend>& backends = pool.balancer->backends();
    for (size_t i = 0; i < backends.size(); ++i) {
      const balancers::BalancedBackend& backend = backends[i];
      auto found = targets_.find(backend.state.get());
      std::unique_ptr<Target> target;
      if (found == targets_.end()) {
        target = take_parked(backend.state.get(), now);
        if (!target) target = new_target(backend, entry, !previous.empty(), now);
        target->next_check = health::first_check(entry.schedule, now, random_);
      } else {
        target = std::move(found->second);
        targets_.erase(found);
        const PoolEntry& before = previous[target->pool];
        if (!same_probe(before, entry)) {
          retire_probe(*target);
          target->next_check = health::first_check(entry.schedule, now, random_);
        }
        if (entry.probe == nullptr) {
          if (auto change = target->machine.stop_checking(now)) {
            changes.emplace_back(target.get(), *change);
          }
        }
        if (!entry.passive && target->machine.ejected()) {
          if (auto change = target->machine.end_ejection(now, "passive detection turned off")) {
            changes.emplace_back(target.get(), *change);
          }
        }
      }
      target->pool = p;
      target->weight = backend.weight;
      target->address = pool.addresses[i];
      target->machine.set_thresholds(entry.thresholds);
      backend.state->set_passive(entry.passive ? entry.passive->consecutive_failures : 0,
                                 entry.passive && entry.passive->count_5xx);
      if (entry.probe != nullptr && target->probe_slot == kNoSlot) attach_probe(*target);
      sync_flags(*target);
      entry.members.push_back(target.get());
      kept.emplace(backend.state.get(), std::move(target));
    }
  }
  for (auto& [state, target] : targets_) park(std::move(target), now);  // no longer listed
  targets_ = std::move(kept);
  passive_targets_.clear();
  ramping_.clear();
  for (auto& [state, target] : targets_) {
    if (pools_[target->pool].passive) passive_targets_.push_back(target.get());
    if (target->ramping) ramping_.push_back(target.get());
  }
  rebuild_timers();
  for (auto& [target, transition] : changes) publish(*target, transition);
}

void HealthChecker::schedule_check(Target& target, TimePoint at) {
  target.next_check = at;
  ++target.check_version;
  timers_.push({at, &target, target.check_version, TimerKind::kCheck});
}

void HealthChecker::rebuild_timers() {
  timers_ = {};
  for (auto& [state, target] : targets_) {
    const bool idle =
        target->probe_slot != kNoSlot && !slots_.at(target->probe_slot)->probe->busy();
    if (idle) schedule_check(*target, target->next_check);
    if (std::optional<TimePoint> until = target->ejections.until()) {
      timers_.push({*until, target.get(), 0, TimerKind::kEjectionEnd});
    }
  }
}

void HealthChecker::attach_probe(Target& target) {
  target.probe_slot =
      slots_.emplace(ProbeSlot{make_probe(pools_[target.pool], target), &target}).first.slot;
}

void HealthChecker::retire_probe(Target& target) {
  if (target.probe_slot == kNoSlot) return;
  const uint32_t slot = target.probe_slot;
  target.probe_slot = kNoSlot;
  ProbeSlot& entry = *slots_.at(slot);
  entry.owner = nullptr;
  if (!entry.probe->busy()) {
    free_slot(slot);
    return;
  }
  entry.probe->cancel(ring_);  // freed when its last completion arrives
}

void HealthChecker::free_slot(uint32_t slot) { slots_.erase(slot); }

void HealthChecker::on_completion(OpTag tag, int result) {
  ProbeSlot* found = slots_.find(tag.slot, tag.generation);
  if (found == nullptr) return;  // stale
  ProbeSlot& entry = *found;
  const TimePoint now = Clock::now();
  std::optional<health::CheckResult> verdict =
      entry.probe->on_completion(ring_, tag.kind, result, now);
  if (!verdict) return;
  if (entry.owner == nullptr) {
    free_slot(tag.slot);
    return;
  }
  apply_check(*entry.owner, *verdict, now);
}

void HealthChecker::run(TimePoint now) {
  run_due_timers(now);
  if (!passive_targets_.empty() && now >= next_passive_poll_) {
    read_passive_signals(now);
    next_passive_poll_ = now + kPassivePollInterval;
  }
  if (now >= next_parked_expiry_) expire_parked(now);
  if (!ramping_.empty() && now >= next_ramp_step_) {
    ramp_slow_starts(now);
    next_ramp_step_ = now + kRampStep;
  }
  for (PoolEntry& pool : pools_) {
    if (pool.recount) update_panic(pool);
  }
  if (republish_needed_) {
    republish_needed_ = false;
    republish_();
  }
  compute_next_wakeup(now);
}

void HealthChecker::run_due_timers(TimePoint now) {
  while (!timers_.empty() && timers_.top().at <= now) {
    const Timer timer = timers_.top();
    timers_.pop();
    if (timer.kind == TimerKind::kEjectionEnd) {
      end_ejection_if_due(*timer.target, now);
    } else if (timer.version == timer.target->check_version) {
      start_check(*timer.target, now);
    }
  }
}

void HealthChecker::start_check(Target& target, TimePoint now) {
  if (target.probe_slot == kNoSlot) return;
  ProbeSlot& entry = *slots_.at(target.probe_slot);
  if (entry.probe->busy()) return;
  // Nothing is due while this attempt runs; apply_check() schedules the next one.
  target.next_check = TimePoint::max();
  ++target.check_version;
  target.check_started = now;
  if (auto verdict = entry.probe->start(ring_, target.probe_slot,
                                        slots_.handle(target.probe_slot).generation, now)) {
    apply_check(target, *verdict, now);
  }
}

void HealthChecker::apply_check(Target& target, const health::CheckResult& result, TimePoint now) {
  target.last_latency =
      std::chrono::duration_cast<std::chrono::microseconds>(now - target.check_started);
  ++target.checks[static_cast<size_t>(result.kind) % kResultKinds];
  LOG_DEBUG("pool %s: backend %s: check %s: %s", pools_[target.pool].name.c_str(),
            target.state->address().c_str(), health::layer_name(result.kind),
            health::describe(result).c_str());
  if (auto transition = target.machine.on_check(result, now)) publish(target, *transition);
  schedule_check(target,
                 health::next_check(pools_[target.pool].schedule, target.machine, now, random_));
}

void HealthChecker::read_passive_signals(TimePoint now) {
  for (Target* target : passive_targets_) {
    const uint8_t trips = target->state->take_trips();
    if (trips == 0) {
      target->refusal_noted = false;
      continue;
    }
    try_eject(*target, trips, now);
  }
}

void HealthChecker::try_eject(Target& target, uint8_t trips, TimePoint now) {
  const PoolEntry& pool = pools_[target.pool];
  if (target.machine.state() != State::kUp) return;
  uint32_t total = 0;
  uint32_t ejected = 0;
  for (const Target* member : pool.members) {
    if (member->weight == 0) continue;
    ++total;
    if (member->machine.ejected()) ++ejected;
  }
  const health::PassiveSettings& settings = *pool.passive;
  const std::string why = health::trip_reason(trips, settings.consecutive_failures);
  if (ejected >= health::max_ejectable(total, settings.max_ejected_percent)) {
    if (!target.refusal_noted) {
      LOG_WARN(
          "pool %s: backend %s: %s, but not ejected: %u of %u backends are ejected "
          "already (max_ejected_percent = %u)",
          pool.name.c_str(), target.state->address().c_str(), why.c_str(), ejected, total,
          settings.max_ejected_percent);
      target.refusal_noted = true;
    }
    return;
  }
  const milliseconds duration = target.ejections.start(now, settings);
  const std::string reason = why + "; ejected for " + health::format_duration(duration);
  ++target.ejections_count;
  if (auto transition = target.machine.eject(now, reason)) publish(target, *transition);
  timers_.push({*target.ejections.until(), &target, 0, TimerKind::kEjectionEnd});
}

void HealthChecker::end_ejection_if_due(Target& target, TimePoint now) {
  const std::optional<TimePoint> until = target.ejections.until();
  if (!until || *until > now) return;  // ended early, or a later ejection has its own timer
  if (auto transition = target.machine.end_ejection(now, "ejection time over")) {
    publish(target, *transition);
  } else {
    target.ejections.end(now);  // the backend went down meanwhile
  }
}

void HealthChecker::ramp_slow_starts(TimePoint now) {
  std::erase_if(ramping_, [&](Target* target) {
    const uint32_t permille =
        target->ramping
            ? health::slow_start_permille(now - target->ramp_since, pools_[target->pool].slow_start)
            : health::kFullWeightPermille;
    if (target->ramping) target->state->set_weight_permille(permille);
    if (permille < health::kFullWeightPermille) return false;
    target->ramping = false;
    return true;
  });
}

void HealthChecker::update_panic(PoolEntry& pool) {
  pool.recount = false;
  uint32_t total = 0;
  uint32_t eligible = 0;
  for (const Target* member : pool.members) {
    if (member->weight == 0 || member->machine.draining()) continue;
    ++total;
    if (member->state->eligible()) ++eligible;
  }
  const bool in_panic = health::in_panic(eligible, total, pool.panic_threshold_percent);
  const health::PanicMode mode = !in_panic        ? health::PanicMode::kNone
                                 : pool.serve_all ? health::PanicMode::kServeAll
                                                  : health::PanicMode::kFail;
  if (pool.pool_health->panic() != mode) {
    pool.pool_health->set_panic(mode);
    if (pool.rebuilds) republish_needed_ = true;  // serve_all puts every backend in the table
  }
  if (in_panic == pool.in_panic) return;
  pool.in_panic = in_panic;
  if (!in_panic) {
    LOG_INFO("pool %s: leaving panic: %u of %u backends eligible", pool.name.c_str(), eligible,
             total);
  } else if (pool.serve_all) {
    LOG_WARN(
        "pool %s: entering panic: %u of %u backends eligible, under "
        "panic_threshold_percent = %u; panic = \"serve_all\": sending to all %u, healthy "
        "or not",
        pool.name.c_str(), eligible, total, pool.panic_threshold_percent, total);
  } else {
    LOG_WARN(
        "pool %s: entering panic: %u of %u backends eligible, under "
        "panic_threshold_percent = %u; panic = \"fail\": answering 503 until enough come "
        "back",
        pool.name.c_str(), eligible, total, pool.panic_threshold_percent);
  }
}

void HealthChecker::sync_flags(Target& target) {
  target.state->set_up(target.machine.verdict() == State::kUp);
  target.state->set_ejected(target.machine.ejected());
  target.state->set_draining(target.machine.draining());
}

void HealthChecker::publish(Target& target, const health::Transition& transition) {
  PoolEntry& pool = pools_[target.pool];
  const std::string reason = transition.reason;
  const std::string spent = health::format_duration(transition.in_old_state);
  if (transition.to == State::kUp) {
    LOG_INFO("pool %s: backend %s %s -> %s (%s in %s): %s", pool.name.c_str(),
             target.state->address().c_str(), health::to_string(transition.from),
             health::to_string(transition.to), spent.c_str(), health::to_string(transition.from),
             reason.c_str());
  } else {
    LOG_WARN("pool %s: backend %s %s -> %s (%s in %s): %s", pool.name.c_str(),
             target.state->address().c_str(), health::to_string(transition.from),
             health::to_string(transition.to), spent.c_str(), health::to_string(transition.from),
             reason.c_str());
  }
  sync_flags(target);
  if (transition.from == State::kEjected) {
    target.ejections.end(transition.at);
    target.state->reset_passive_counts();
  }
  const bool comeback = target.machine.recovered_at() == transition.at ||
                        (target.appeared && transition.from == State::kUnknown);
  if (transition.to == State::kUp && comeback && pool.slow_start.count() > 0) {
    start_ramp(target, transition.at);
  } else if (transition.to != State::kUp) {
    target.ramping = false;
    target.state->set_weight_permille(health::kFullWeightPermille);
  }
  pool.recount = true;
  if (pool.rebuilds) republish_needed_ = true;
}

void HealthChecker::compute_next_wakeup(TimePoint now) {
  while (!timers_.empty() && timers_.top().kind == TimerKind::kCheck &&
         timers_.top().version != timers_.top().target->check_version) {
    timers_.pop();  // stale: keeps the top meaningful
  }
  TimePoint next = timers_.empty() ? TimePoint::max() : timers_.top().at + kTimerSlack;
  if (!passive_targets_.empty()) next = std::min(next, std::max(now, next_passive_poll_));
  if (!ramping_.empty()) next = std::min(next, std::max(now, next_ramp_step_));
  next = std::min(next, next_parked_expiry_);
  next_wakeup_ = next;
}

void HealthChecker::shutdown(milliseconds limit) {
  bool busy = false;
  for (uint32_t slot = 0; slot < slots_.capacity(); ++slot) {
    ProbeSlot* entry = slots_.at(slot);
    if (entry == nullptr) continue;
    entry->owner = nullptr;
    if (entry->probe->busy()) {
      entry->probe->cancel(ring_);
      busy = true;
    }
  }
  for (auto& [state, target] : targets_) target->probe_slot = kNoSlot;
  const TimePoint deadline = Clock::now() + limit;
  while (busy && Clock::now() < deadline) {
    ring_.submit_and_wait(milliseconds(10));
    ring_.for_each_completion([&](const io_uring_cqe& cqe) {
      const OpTag tag = OpTag::decode(cqe.user_data);
      if (tag.kind == OpKind::kProbe || tag.kind == OpKind::kProbeTimeout) {
        on_completion(tag, cqe.res);
      }
    });
    busy = false;
    for (uint32_t slot = 0; slot < slots_.capacity(); ++slot) {
      if (slots_.at(slot) != nullptr && slots_.at(slot)->probe->busy()) busy = true;
    }
  }
  for (uint32_t slot = 0; slot < slots_.capacity(); ++slot) {
    if (slots_.at(slot) != nullptr && !slots_.at(slot)->probe->busy()) free_slot(slot);
  }
}

// ---- admin API ----

std::optional<HealthChecker::BackendView> HealthChecker::view(
    const health::BackendState& state) const {
  const auto found = targets_.find(&state);
  if (found == targets_.end()) return std::nullopt;
  const Target& target = *found->second;
  BackendView view;
  view.state = target.machine.state();
  view.reason = target.machine.reason();
  view.since = target.machine.since();
  view.checked = pools_[target.pool].probe != nullptr;
  view.last_result = target.machine.last_result();
  view.last_latency = target.last_latency;
  view.checks = target.checks;
  view.ejections = target.ejections_count;
  return view;
}

bool HealthChecker::in_panic(const std::string& pool) const {
  for (const PoolEntry& entry : pools_) {
    if (entry.name == pool) return entry.in_panic;
  }
  return false;
}

bool HealthChecker::set_draining(const health::BackendState& state, bool draining) {
  const auto found = targets_.find(&state);
  if (found == targets_.end()) return false;
  Target& target = *found->second;
  if (target.machine.draining() == draining) return true;
  const TimePoint now = Clock::now();
  if (auto transition = target.machine.set_draining(draining, now)) {
    publish(target, *transition);
  } else {
    sync_flags(target);
  }
  compute_next_wakeup(now);
  return true;
}

}  // namespace ringlb
