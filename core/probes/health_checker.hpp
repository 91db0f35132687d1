// The control thread's health work (docs/architecture.md): schedules and runs the probes on the
// control ring, reads the passive signals workers leave in BackendState, drives each backend's
// state machine, and publishes what changed: eligibility atomics, slow start weights, the pool's
// panic mode, and, for balancers whose tables follow eligibility, a rebuilt snapshot. It keeps no
// pointer into a snapshot, so state survives reloads for every (pool, address) kept.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/io/op_tag.hpp"
#include "core/io/ring.hpp"
#include "core/io/slot_table.hpp"
#include "core/probes/probe_registry.hpp"
#include "core/runtime/snapshot.hpp"
#include "health/backend_health.hpp"
#include "health/backend_registry.hpp"
#include "health/passive.hpp"
#include "health/pool_health.hpp"
#include "health/schedule.hpp"

namespace ringlb {

class HealthChecker {
 public:
  using Clock = health::Clock;
  using TimePoint = health::TimePoint;

  // `ring` is the control thread's; `republish` builds and publishes a snapshot from the running
  // configuration (same sockets, same backend states). Both outlive the checker.
  HealthChecker(Ring& ring, health::BackendRegistry& registry, std::function<void()> republish);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // The snapshot now published (at start, after a reload): which backends to watch and how.
  // Backends kept keep their state; new ones start in their pool's initial_state.
  void on_reload(const Snapshot& snapshot);
  // A completion whose tag is kProbe or kProbeTimeout.
  void on_completion(OpTag tag, int result);
  // Does what is due at `now`: starts checks, reads passive signals, ends ejections, ramps slow
  // starts, updates panic modes, and republishes once if a table must follow eligibility.
  void run(TimePoint now);
  // When run() next has something to do.
  TimePoint next_wakeup() const { return next_wakeup_; }
  // Cancels every probe and waits (at most `limit`) for their completions, so no operation of
  // the ring still refers to a probe's memory.
  void shutdown(std::chrono::milliseconds limit);

  // ---- for the admin API (control thread) ----

  static constexpr size_t kResultKinds = 16;  // room for every health::ResultKind
  struct BackendView {
    health::State state = health::State::kUnknown;
    std::string reason;
    TimePoint since;
    bool checked = false;  // the pool runs active checks
    std::optional<health::CheckResult> last_result;
    std::chrono::microseconds last_latency{0};
    std::array<uint64_t, kResultKinds> checks{};  // results so far, by health::ResultKind
    uint64_t ejections = 0;                       // passive ejections so far
  };
  // What the checker knows of `state`; nullopt for a backend it does not watch.
  std::optional<BackendView> view(const health::BackendState& state) const;
  bool in_panic(const std::string& pool) const;
  // Drains (or undoes the drain of) a watched backend: a transition with a log line, effective
  // on the next pick. False when the checker does not watch `state`.
  bool set_draining(const health::BackendState& state, bool draining);

 private:
  struct Target;

  // One pool's settings, copied out of the configuration, and its panic state.
  struct PoolEntry {
    std::string name;
    ProbeFactory probe = nullptr;  // the pool's kind of probe (probe_registry.hpp); null: none
    health::HttpCheckSpec http;
    std::shared_ptr<const TlsClientContext> tls;  // probes speak TLS with it when set
    std::chrono::milliseconds timeout{1000};
    health::ScheduleSettings schedule;
    health::Thresholds thresholds;
    health::State initial_state = health::State::kUp;
    std::optional<health::PassiveSettings> passive;
    uint32_t panic_threshold_percent = 0;
    bool serve_all = false;
    std::chrono::milliseconds slow_start{0};
    bool rebuilds = false;  // the balancer builds tables from the eligible backends
    std::shared_ptr<health::PoolHealth> pool_health;
    bool in_panic = false;
    bool recount = true;           // eligibility moved: evaluate panic again
    std::vector<Target*> members;  // owned by targets_
  };

  struct Target {
    Target(std::shared_ptr<health::BackendState> state_in, health::BackendHealth machine_in)
        : state(std::move(state_in)), machine(std::move(machine_in)) {}

    std::shared_ptr<health::BackendState> state;
    size_t pool = 0;  // index into pools_
    uint32_t weight = 1;
    SocketAddress address;
    health::BackendHealth machine;
    TimePoint next_check;        // TimePoint::max() while a check runs
    uint32_t check_version = 0;  // bumped when next_check moves: older timers are stale
    uint32_t probe_slot = kNoSlot;
    health::EjectionHistory ejections;
    bool ramping = false;        // slow start under way
    TimePoint ramp_since;        // when the ramp began: a comeback, or an appearance at run time
    bool appeared = false;       // joined a running pool: its first rise to up ramps too
    bool refusal_noted = false;  // an ejection refused by max_ejected_percent was logged
    // For the admin API.
    TimePoint check_started;
    std::chrono::microseconds last_latency{0};
    std::array<uint64_t, kResultKinds> checks{};
    uint64_t ejections_count = 0;
  };

  // A backend that left its pool (membership, reload): no probe, drained, its history kept until
  // `until` (health::kRemovedHold) in case it comes back (health_checker_members.cpp).
  struct Parked {
    std::unique_ptr<Target> target;
    TimePoint until;
  };

  struct ProbeSlot {
    std::unique_ptr<Probe> probe;
    Target* owner = nullptr;  // null once retired: the result is dropped, the slot freed
  };

  // Something due for a target at `at`: its next check, or the end of its ejection. A timer
  // whose target has moved on (another version, no ejection ending then) is skipped. The heap is
  // rebuilt on reload, so it never points at a target that is gone.
  enum class TimerKind : uint8_t { kCheck, kEjectionEnd };
  struct Timer {
    TimePoint at;
    Target* target = nullptr;
    uint32_t version = 0;
    TimerKind kind = TimerKind::kCheck;
  };
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const { return a.at > b.at; }
  };

  static constexpr uint32_t kNoSlot = UINT32_MAX;

  static PoolEntry make_pool_entry(const Pool& pool, health::BackendRegistry& registry);
  static bool same_probe(const PoolEntry& a, const PoolEntry& b);
  std::unique_ptr<Probe> make_probe(const PoolEntry& pool, const Target& target) const;
  void adopt_pools(const Snapshot& snapshot, TimePoint now);
  // health_checker_members.cpp: a backend that joins, leaves, or comes back within the hold.
  std::unique_ptr<Target> new_target(const balancers::BalancedBackend& backend,
                                     const PoolEntry& entry, bool joins_running, TimePoint now);
  std::unique_ptr<Target> take_parked(const health::BackendState* state, TimePoint now);
  void park(std::unique_ptr<Target> target, TimePoint now);
  void expire_parked(TimePoint now);
  void start_ramp(Target& target, TimePoint since);
  void attach_probe(Target& target);
  void retire_probe(Target& target);
  void free_slot(uint32_t slot);

  void schedule_check(Target& target, TimePoint at);
  void rebuild_timers();
  void run_due_timers(TimePoint now);
  void start_check(Target& target, TimePoint now);
  void apply_check(Target& target, const health::CheckResult& result, TimePoint now);
  void read_passive_signals(TimePoint now);
  void try_eject(Target& target, uint8_t trips, TimePoint now);
  void end_ejection_if_due(Target& target, TimePoint now);
  void ramp_slow_starts(TimePoint now);
  void update_panic(PoolEntry& pool);
  // Applies a transition of `target`: atomics, log line, ramps, panic recount, republishing.
  void publish(Target& target, const health::Transition& transition);
  void sync_flags(Target& target);
  void compute_next_wakeup(TimePoint now);

  Ring& ring_;
  health::BackendRegistry& registry_;
  std::function<void()> republish_;
  health::DefaultRandom random_;
  std::vector<PoolEntry> pools_;
  std::unordered_map<const health::BackendState*, std::unique_ptr<Target>> targets_;
  std::unordered_map<const health::BackendState*, Parked> parked_;
  TimePoint next_parked_expiry_ = TimePoint::max();
  SlotTable<ProbeSlot, 16> slots_;
  std::priority_queue<Timer, std::vector<Timer>, Later> timers_;
  std::vector<Target*> passive_targets_;  // in pools with [passive]: read every poll
  std::vector<Target*> ramping_;          // slow starts under way
  TimePoint next_passive_poll_;
  TimePoint next_ramp_step_;
  bool republish_needed_ = false;
  TimePoint next_wakeup_ = TimePoint::max();
};

}  // namespace ringlb
