// The panic test and the slow start ramp: two lines of arithmetic each, kept apart so both are
// tested alone.
#include "health/pool_health.hpp"

#include <algorithm>

namespace ringlb::health {

bool in_panic(uint32_t eligible, uint32_t total, uint32_t threshold_percent) {
  if (threshold_percent == 0 || total == 0) return false;
  return uint64_t{eligible} * 100 < uint64_t{threshold_percent} * total;
}

uint32_t slow_start_permille(Clock::duration elapsed, std::chrono::milliseconds slow_start) {
  if (slow_start.count() <= 0 || elapsed >= slow_start) return kFullWeightPermille;
  if (elapsed.count() <= 0) return kSlowStartFloorPermille;
  const double share = std::chrono::duration<double>(elapsed) / slow_start;
  const auto permille = static_cast<uint32_t>(share * kFullWeightPermille);
  return std::clamp(permille, kSlowStartFloorPermille, kFullWeightPermille);
}

}  // namespace ringlb::health
