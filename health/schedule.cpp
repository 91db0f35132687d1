// The scheduling arithmetic: which interval applies, and the jitter around it.
#include "health/schedule.hpp"

#include <random>

namespace ringlb::health {

DefaultRandom::DefaultRandom() {
  std::random_device entropy;
  state_ = uint64_t{entropy()} << 32 | entropy();
}

double DefaultRandom::uniform() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;  // the top 53 bits: exact in a double
}

std::chrono::milliseconds base_interval(const ScheduleSettings& settings,
                                        const BackendHealth& health) {
  if (health.changing()) return settings.fast_interval;
  if (health.verdict() == State::kDown) return settings.down_interval;
  return settings.interval;
}

namespace {

Clock::duration scaled(std::chrono::milliseconds base, double factor) {
  const auto exact = std::chrono::duration<double, std::micro>(base) * factor;
  // Rounded up, so base × (1 − jitter) never lands a microsecond short of its bound.
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::ceil<std::chrono::microseconds>(exact));
}

}  // namespace

TimePoint first_check(const ScheduleSettings& settings, TimePoint now, Random& random) {
  return now + scaled(settings.interval, random.uniform());
}

TimePoint next_check(const ScheduleSettings& settings, const BackendHealth& health, TimePoint now,
                     Random& random) {
  const double jitter = settings.jitter_percent / 100.0;
  const double u = 2.0 * random.uniform() - 1.0;  // [-1, 1)
  return now + scaled(base_interval(settings, health), 1.0 + jitter * u);
}

}  // namespace ringlb::health
