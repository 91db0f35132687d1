// The live state of one backend, shared by every snapshot that names it (docs/architecture.md):
// health, drain flag, slow start weight, the active count, and the passive signals. Workers read it
// on every pick; writers are the control thread (health, admin) and the `on_start`/`on_end` pair
// around each attempt, the one place where passive signals enter. No locks: relaxed atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "health/stats.hpp"

namespace ringlb::health {

// How one attempt on a backend ended. The single place where passive signals enter.
enum class Outcome { kSuccess, kConnectFailed, kConnectTimeout, kReset };

namespace detail {
// Alone on its cache line: read by every worker on every pick, written only on a change.
struct alignas(64) EligibilityEpoch {
  std::atomic<uint64_t> value{0};
};
extern EligibilityEpoch g_eligibility_epoch;  // defined in backend_state.cpp
}  // namespace detail
// Bumped (release) whenever any backend's eligibility or slow start share changes, in any pool.
// A balancer that caches what it derived from these states keeps the cache while the count stays
// the same: one load per pick instead of a read of every backend. Loads on any thread; acquire
// before reading the states that a cache is built from.
inline uint64_t eligibility_epoch() {
  return detail::g_eligibility_epoch.value.load(std::memory_order_acquire);
}

class BackendState {
 public:
  // `workers`: how many workers write counters (one slot each).
  BackendState(std::string pool, std::string address, uint32_t workers = 1)
      : pool_(std::move(pool)), address_(std::move(address)), stats_(workers) {}
  BackendState(const BackendState&) = delete;
  BackendState& operator=(const BackendState&) = delete;

  const std::string& pool() const { return pool_; }
  const std::string& address() const { return address_; }

  // Whether balancers may send new work here: up, not ejected, not draining. One relaxed load;
  // any thread.
  bool eligible() const { return flags_.load(std::memory_order_relaxed) == 0; }
  // The active checks' verdict: false while down, or unknown before a first pass.
  bool up() const { return (flags_.load(std::memory_order_relaxed) & kDown) == 0; }
  bool ejected() const { return (flags_.load(std::memory_order_relaxed) & kEjected) != 0; }
  bool draining() const { return (flags_.load(std::memory_order_relaxed) & kDraining) != 0; }
  // Control thread (tests too).
  void set_up(bool up) { set_flag(kDown, !up); }
  void set_ejected(bool ejected) { set_flag(kEjected, ejected); }
  void set_draining(bool draining) { set_flag(kDraining, draining); }

  // Slow start: the share of its configured weight the backend gets now, in per mille (1000 =
  // all of it). Balancers that honour slow start multiply by it; the control thread ramps it.
  uint32_t weight_permille() const { return weight_permille_.load(std::memory_order_relaxed); }
  void set_weight_permille(uint32_t permille) {
    if (weight_permille_.exchange(permille, std::memory_order_relaxed) != permille) {
      note_eligibility_change();
    }
  }

  // Open connections (L4) or in-flight requests (L7): least-connections reads this.
  uint32_t active() const { return active_.load(std::memory_order_relaxed); }

  // Around every attempt: on_start when a connection to this backend is begun, on_end with how
  // it went, exactly once per on_start. Any worker; never blocks, never allocates.
  void on_start() { active_.fetch_add(1, std::memory_order_relaxed); }
  void on_end(Outcome outcome);
  // The status of each final response the backend sent (http): 5xx counts toward passive
  // ejection when the pool asks for it. Any worker.
  void on_response_status(unsigned status);

  // The counters one worker keeps for this backend; summed by the admin API.
  BackendWorkerStats& stats(uint32_t worker) { return stats_.at(worker); }
  const PerWorker<BackendWorkerStats>& stats() const { return stats_; }

  uint64_t failed_attempts() const { return failed_attempts_.load(std::memory_order_relaxed); }

  // Passive detection, set by the control thread: trip after `consecutive_failures` failed
  // attempts (connect failed, timed out, reset) in a row, or as many 5xx in a row when
  // `count_5xx`. 0 = off.
  void set_passive(uint32_t consecutive_failures, bool count_5xx);
  // Control thread: the thresholds reached since the last call (health::PassiveTrip bits), and
  // clears them. A trip is latched, so a success right after it is not lost between two reads.
  uint8_t take_trips() { return trips_.exchange(0, std::memory_order_relaxed); }
  // Control thread, after an ejection ends: start counting afresh.
  void reset_passive_counts();

 private:
  enum Flag : uint8_t { kDown = 1, kEjected = 2, kDraining = 4 };
  void set_flag(uint8_t flag, bool on) {
    const uint8_t before =
        on ? flags_.fetch_or(flag, std::memory_order_relaxed)
           : flags_.fetch_and(static_cast<uint8_t>(~flag), std::memory_order_relaxed);
    if (((before & flag) != 0) != on) note_eligibility_change();
  }
  // Bumps eligibility_epoch(), after the change it announces.
  static void note_eligibility_change();
  // Counts one more failure in `counter` and latches `trip` at the threshold.
  void count_failure(std::atomic<uint32_t>& counter, uint8_t trip);
  static void reset_count(std::atomic<uint32_t>& counter) {
    // Read first: the common case (already 0) then writes nothing, so workers do not bounce the
    // cache line on every success.
    if (counter.load(std::memory_order_relaxed) != 0) counter.store(0, std::memory_order_relaxed);
  }

  const std::string pool_;
  const std::string address_;
  std::atomic<uint8_t> flags_{0};
  std::atomic<uint32_t> weight_permille_{1000};
  std::atomic<uint32_t> active_{0};
  std::atomic<uint64_t> failed_attempts_{0};
  // Passive detection.
  std::atomic<uint32_t> failure_threshold_{0};
  std::atomic<bool> count_5xx_{false};
  std::atomic<uint32_t> consecutive_failures_{0};
  std::atomic<uint32_t> consecutive_5xx_{0};
  std::atomic<uint8_t> trips_{0};
  PerWorker<BackendWorkerStats> stats_;
};

}  // namespace ringlb::health
