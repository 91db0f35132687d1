// The refresh schedule of one pool's DNS lookups (see dns_schedule.hpp).
#include "core/discovery/dns_schedule.hpp"

#include <algorithm>

namespace ringlb::discovery {

config::Duration refresh_delay(config::Duration refresh, std::optional<std::chrono::seconds> ttl,
                               double jitter) {
  config::Duration delay = refresh;
  if (ttl && *ttl < delay) delay = std::max<config::Duration>(*ttl, config::kMinDnsRefresh);
  const double fraction = std::clamp(jitter, 0.0, 1.0) * 0.1;
  const auto cut =
      config::Duration(static_cast<int64_t>(static_cast<double>(delay.count()) * fraction));
  return std::max(config::kMinDnsRefresh, delay - cut);
}

bool RefreshSchedule::succeeded(Clock::time_point now, std::optional<std::chrono::seconds> ttl,
                                double jitter) {
  in_flight_ = false;
  next_at_ = now + refresh_delay(refresh_, ttl, jitter);
  const bool recovered = failing_;
  failing_ = false;
  return recovered;
}

bool RefreshSchedule::failed(Clock::time_point now, double jitter) {
  in_flight_ = false;
  next_at_ = now + refresh_delay(refresh_, std::nullopt, jitter);
  const bool first = !failing_;
  failing_ = true;
  return first;
}

}  // namespace ringlb::discovery
