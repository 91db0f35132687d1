// Reads the health settings of a pool: [pools.NAME.health] (active checks),
// [pools.NAME.passive] (ejection), and the panic mode and slow start in [pools.NAME].
#include <algorithm>

#include "config/load_sections.hpp"

namespace ringlb::config::detail {

HealthConfig read_health(Section& section) {
  HealthConfig health;
  section.read_enum("check", kProbeKindWords, health.check);
  std::string path;
  if (section.read_string("path", path) && !path.starts_with("/")) {
    section.error(section.at("path"), "'path' must start with '/'");
  } else if (!path.empty()) {
    health.path = path;
  }
  std::string expect;
  if (section.read_string("expect_status", expect) && !is_valid_expect_status(expect)) {
    section.error(section.at("expect_status"),
                  "'expect_status' must be status codes from 100 to 599 like \"200\", "
                  "\"200-399\" or \"200-299,302\", not " +
                      quoted(expect));
  } else if (!expect.empty()) {
    health.expect_status = expect;
  }
  std::string host;
  if (section.read_string("host", host, /*allow_empty=*/false)) health.host = host;
  section.read_string("expect_body", health.expect_body, /*allow_empty=*/false);
  section.read_duration("interval", health.interval, /*allow_zero=*/false);
  section.read_duration("timeout", health.timeout, /*allow_zero=*/false);
  section.read_integer("rise", 1, health.rise);
  section.read_integer("fall", 1, health.fall);
  section.read_integer("jitter", 0, health.jitter, 50);
  // Derived from the interval unless written: half of it while changing, double while down.
  health.fast_interval = std::max(Duration(1), health.interval / 2);
  health.down_interval = std::min(health.interval * 2, kMaxDuration);
  section.read_duration("fast_interval", health.fast_interval, /*allow_zero=*/false);
  section.read_duration("down_interval", health.down_interval, /*allow_zero=*/false);
  section.read_enum("initial_state", kInitialStateWords, health.initial_state);
  return health;
}

PassiveConfig read_passive(Section& section) {
  PassiveConfig passive;
  section.read_integer("consecutive_failures", 1, passive.consecutive_failures, 1000);
  section.read_duration("ejection_time", passive.ejection_time, /*allow_zero=*/false);
  section.read_duration("max_ejection_time", passive.max_ejection_time, /*allow_zero=*/false);
  section.read_integer("max_ejected_percent", 0, passive.max_ejected_percent, 100);
  section.read_bool("count_5xx", passive.count_5xx);
  return passive;
}

void read_pool_health(Section& section, PoolConfig& pool) {
  section.read_integer("panic_threshold_percent", 0, pool.panic_threshold_percent, 100);
  section.read_enum("panic", kPanicModeWords, pool.panic);
  section.read_duration("slow_start", pool.slow_start, /*allow_zero=*/true);
}

}  // namespace ringlb::config::detail
