// When a pool's next DNS lookup is due, and whether a failure is news worth a log line. Pure:
// the clock and the jitter come from the caller, so the tests state exact outcomes.
#pragma once

#include <chrono>
#include <optional>

#include "config/config.hpp"

namespace ringlb::discovery {

// The wait before the next lookup after a successful one: `refresh`, or the answer's TTL when
// shorter (never below config::kMinDnsRefresh, so a TTL of 0 cannot make a busy loop), minus up
// to 10% jitter (`jitter` in [0, 1)) so that pools and instances do not ask in step. The jitter
// only shortens the wait: an answer is never used past its TTL because of it.
config::Duration refresh_delay(config::Duration refresh, std::optional<std::chrono::seconds> ttl,
                               double jitter);

// One pool's lookups over time: due(), then started(), then succeeded() or failed().
class RefreshSchedule {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RefreshSchedule(config::Duration refresh) : refresh_(refresh) {}

  // True when no lookup is in flight and the next one is due at `now`.
  bool due(Clock::time_point now) const { return !in_flight_ && now >= next_at_; }
  // When to look again; while a lookup is in flight, the caller waits for its answer instead.
  std::optional<Clock::time_point> next_at() const {
    return in_flight_ ? std::nullopt : std::optional(next_at_);
  }
  void started() { in_flight_ = true; }
  // Returns true when this success ends a run of failures (worth one log line).
  bool succeeded(Clock::time_point now, std::optional<std::chrono::seconds> ttl, double jitter);
  // Returns true for the first failure after a success (or since start): only that one is
  // logged, however long the outage lasts. Retries after `refresh`, jittered.
  bool failed(Clock::time_point now, double jitter);
  bool failing() const { return failing_; }

 private:
  config::Duration refresh_;
  Clock::time_point next_at_{};  // the epoch: the first lookup is due at once
  bool in_flight_ = false;
  bool failing_ = false;
};

}  // namespace ringlb::discovery
