// When each backend is checked (docs/architecture.md): every `interval` with ±jitter, a random
// first offset so a thousand backends are not probed in the same millisecond, faster while a
// verdict is changing (HAProxy's fastinter) and slower while down (downinter). Pure: the caller
// passes the time and a Random, so tests are exact.
#pragma once

#include <chrono>
#include <cstdint>

#include "health/backend_health.hpp"

namespace ringlb::health {

// Uniform numbers in [0, 1). Injected so tests choose the extremes.
class Random {
 public:
  virtual ~Random() = default;
  virtual double uniform() = 0;
};

// SplitMix64 (Steele, Lea, Flood 2014), seeded from std::random_device unless told. Spreads
// checks; not for secrets.
class DefaultRandom final : public Random {
 public:
  DefaultRandom();
  explicit DefaultRandom(uint64_t seed) : state_(seed) {}
  double uniform() override;

 private:
  uint64_t state_;
};

struct ScheduleSettings {
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds fast_interval{1000};  // while a rise or fall is under way
  std::chrono::milliseconds down_interval{4000};  // while down (stable)
  uint32_t jitter_percent = 10;                   // each wait is base × (1 ± jitter)
};

// The interval before the next check of a backend in this state, before jitter.
std::chrono::milliseconds base_interval(const ScheduleSettings& settings,
                                        const BackendHealth& health);

// The first check of a backend that appears at `now`: uniform in [now, now + interval).
TimePoint first_check(const ScheduleSettings& settings, TimePoint now, Random& random);

// The next check after one that ended at `now`: base_interval × (1 + jitter × u), u uniform in
// [-1, 1). Two checks of one stable backend are never closer than interval × (1 − jitter).
TimePoint next_check(const ScheduleSettings& settings, const BackendHealth& health, TimePoint now,
                     Random& random);

}  // namespace ringlb::health
