// Ejection durations with memory and decay, and the cap on how much of a pool may be ejected.
#include "health/passive.hpp"

#include <algorithm>

namespace ringlb::health {

std::chrono::milliseconds EjectionHistory::start(TimePoint now, const PassiveSettings& settings) {
  if (last_end_ && settings.ejection_time.count() > 0) {
    const auto in_service = now - *last_end_;
    const auto forgotten = static_cast<uint64_t>(in_service / settings.ejection_time);
    remembered_ = forgotten >= remembered_ ? 0 : remembered_ - static_cast<uint32_t>(forgotten);
  }
  ++remembered_;
  const auto wanted = settings.ejection_time * remembered_;
  const auto duration = std::min<std::chrono::milliseconds>(wanted, settings.max_ejection_time);
  until_ = now + duration;
  return duration;
}

void EjectionHistory::end(TimePoint now) {
  until_.reset();
  last_end_ = now;
}

uint32_t max_ejectable(uint32_t total, uint32_t percent) {
  if (percent == 0 || total == 0) return 0;
  return std::max<uint32_t>(1, static_cast<uint32_t>(uint64_t{total} * percent / 100));
}

std::string trip_reason(uint8_t trips, uint32_t threshold) {
  const std::string count = std::to_string(threshold) + " consecutive ";
  if ((trips & kTripFailures) != 0) return count + "failed connects or resets";
  return count + "5xx responses";
}

}  // namespace ringlb::health
