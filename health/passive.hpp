// Passive health (outlier detection, docs/architecture.md): the settings of [pools.NAME.passive]
// and the arithmetic of ejections. The signals themselves are counted by BackendState on the data
// path; the control thread reads them and decides here. Pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "health/backend_health.hpp"

namespace ringlb::health {

struct PassiveSettings {
  uint32_t consecutive_failures = 5;  // 0 = passive detection off
  std::chrono::milliseconds ejection_time{30000};
  std::chrono::milliseconds max_ejection_time{300000};
  uint32_t max_ejected_percent = 50;
  bool count_5xx = false;  // consecutive 5xx responses eject too (http pools)
};

// The ejections of one backend over time. An ejection lasts ejection_time × (the ejections it
// still remembers + 1), capped at max_ejection_time; each ejection_time spent in service forgets
// one earlier ejection (Envoy's rule), so a backend that failed once last week starts afresh.
class EjectionHistory {
 public:
  // Records an ejection starting at `now`; returns how long it lasts.
  std::chrono::milliseconds start(TimePoint now, const PassiveSettings& settings);
  // The ejection ended (expired, or a check passed) at `now`.
  void end(TimePoint now);

  bool active() const { return until_.has_value(); }
  // When the current ejection expires; nullopt when not ejected.
  std::optional<TimePoint> until() const { return until_; }
  uint32_t remembered() const { return remembered_; }

 private:
  uint32_t remembered_ = 0;
  std::optional<TimePoint> until_;
  std::optional<TimePoint> last_end_;
};

// How many backends of a pool of `total` passive detection may hold ejected at once:
// ⌊total × percent / 100⌋, but at least one when percent > 0, so a small pool can still
// lose its one bad backend.
uint32_t max_ejectable(uint32_t total, uint32_t percent);

// Which signal reached its threshold, as BackendState reports them.
enum PassiveTrip : uint8_t { kTripFailures = 1, kTrip5xx = 2 };

// "5 consecutive failed connects or resets", "5 consecutive 5xx responses".
std::string trip_reason(uint8_t trips, uint32_t threshold);

}  // namespace ringlb::health
