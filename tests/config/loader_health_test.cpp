// Tests for config/loader's health settings: [pools.NAME.health], panic and slow start, their
// checks and the defaults derived from the interval.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.hpp"
#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// ---- Health -----------------------------------------------------------------------------------

TEST(Loader, HealthValuesAreChecked) {
  LoadResult result = load_before_base({
      "[pools.app.health]",           // 1
      "check = \"http\"",             // 2
      "expect_status = \"200-600\"",  // 3
      "interval = \"1s\"",            // 4
      "timeout = \"2s\"",             // 5
      "path = \"healthz\"",           // 6
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:3:17: 'expect_status' must be status codes from 100 to 599 like "
                     "\"200\", \"200-399\" or \"200-299,302\", not \"200-600\"",
                     "test.toml:5:11: warning: health timeout (2s) is longer than its interval "
                     "(1s); a probe may still run when the next one is due",
                     "test.toml:6:8: 'path' must start with '/'"));
}

TEST(Loader, EveryHealthKeyIsRead) {
  LoadResult result = load_before_base({
      "[pools.app.health]",               // 1
      "check = \"http\"",                 // 2
      "path = \"/ready\"",                // 3
      "host = \"app.internal\"",          // 4
      "expect_status = \"200-299,302\"",  // 5
      "expect_body = \"ok\"",             // 6
      "interval = \"5s\"",                // 7
      "timeout = \"500ms\"",              // 8
      "rise = 1",                         // 9
      "fall = 5",                         // 10
      "jitter = 20",                      // 11
      "fast_interval = \"1s\"",           // 12
      "down_interval = \"30s\"",          // 13
      "initial_state = \"unknown\"",      // 14
      "[pools.app.passive]",              // 15
      "consecutive_failures = 3",         // 16
      "ejection_time = \"10s\"",          // 17
      "max_ejection_time = \"2m\"",       // 18
      "max_ejected_percent = 30",         // 19
      "count_5xx = true",                 // 20
  });
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  const PoolConfig& pool = result.config->pools[0];
  const HealthConfig& health = *pool.health;
  EXPECT_EQ(health.check, ProbeKind::kHttp);
  EXPECT_EQ(health.path, "/ready");
  EXPECT_EQ(health.host, "app.internal");
  EXPECT_EQ(health.expect_status, "200-299,302");
  EXPECT_EQ(health.expect_body, "ok");
  EXPECT_EQ(health.interval, seconds(5));
  EXPECT_EQ(health.timeout, milliseconds(500));
  EXPECT_EQ(health.rise, 1u);
  EXPECT_EQ(health.fall, 5u);
  EXPECT_EQ(health.jitter, 20u);
  EXPECT_EQ(health.fast_interval, seconds(1));
  EXPECT_EQ(health.down_interval, seconds(30));
  EXPECT_EQ(health.initial_state, InitialState::kUnknown);
  ASSERT_TRUE(pool.passive);
  EXPECT_EQ(pool.passive->consecutive_failures, 3u);
  EXPECT_EQ(pool.passive->ejection_time, seconds(10));
  EXPECT_EQ(pool.passive->max_ejection_time, seconds(120));
  EXPECT_EQ(pool.passive->max_ejected_percent, 30u);
  EXPECT_TRUE(pool.passive->count_5xx);
}

TEST(Loader, HealthDefaultsFollowTheInterval) {
  LoadResult result = load_before_base({
      "[pools.app.health]",    // 1
      "check = \"tcp\"",       // 2
      "interval = \"300ms\"",  // 3
      "timeout = \"100ms\"",   // 4
      "[pools.app.passive]",   // 5
  });
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  const PoolConfig& pool = result.config->pools[0];
  const HealthConfig& health = *pool.health;
  EXPECT_EQ(health.fast_interval, milliseconds(150));  // half the interval
  EXPECT_EQ(health.down_interval, milliseconds(600));  // double
  EXPECT_EQ(health.jitter, 10u);
  EXPECT_EQ(health.initial_state, InitialState::kUp);
  EXPECT_EQ(health.host, "");
  EXPECT_EQ(health.expect_body, "");
  ASSERT_TRUE(pool.passive);
  EXPECT_EQ(pool.passive->consecutive_failures, 5u);
  EXPECT_EQ(pool.passive->ejection_time, seconds(30));
  EXPECT_EQ(pool.passive->max_ejection_time, seconds(300));
  EXPECT_EQ(pool.passive->max_ejected_percent, 50u);
  EXPECT_FALSE(pool.passive->count_5xx);
}

TEST(Loader, PanicAndSlowStartAreRead) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[pools.app]",                                    // 4
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 5
      "panic_threshold_percent = 40",                   // 6
      "panic = \"serve_all\"",                          // 7
      "slow_start = \"30s\"",                           // 8
  });
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  const PoolConfig& pool = result.config->pools[0];
  EXPECT_EQ(pool.panic_threshold_percent, 40u);
  EXPECT_EQ(pool.panic, PanicMode::kServeAll);
  EXPECT_EQ(pool.slow_start, seconds(30));
}

TEST(Loader, PanicThresholdIsAPercent) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[pools.app]",                                    // 4
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 5
      "panic_threshold_percent = 101",                  // 6
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:6:27: 'panic_threshold_percent' must be from 0 to 100, not 101"));
}

TEST(Loader, HealthValuesOutOfRange) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[pools.app]",                                    // 4
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 5
      "panic_threshold_percent = 50",                   // 6
      "panic = \"serve-all\"",                          // 7
      "slow_start = \"soon\"",                          // 8
      "[pools.app.health]",                             // 9
      "check = \"tcp\"",                                // 10
      "jitter = 60",                                    // 11
      "initial_state = \"down\"",                       // 12
      "fast_interval = \"0s\"",                         // 13
      "[pools.app.passive]",                            // 14
      "consecutive_failures = 0",                       // 15
      "max_ejected_percent = 101",                      // 16
      "count_5xx = \"yes\"",                            // 17
  });
  EXPECT_EQ(
      printed(result),
      expected("test.toml:7:9: 'panic' must be \"fail\" or \"serve_all\", not \"serve-all\"; "
               "did you mean \"serve_all\"?",
               "test.toml:8:14: 'slow_start' must be a duration like \"250ms\", \"2s\" or "
               "\"1m30s\" (units ms, s, m, h), not \"soon\"",
               "test.toml:11:10: 'jitter' must be from 0 to 50, not 60",
               "test.toml:12:17: 'initial_state' must be \"up\" or \"unknown\", not \"down\"",
               "test.toml:13:17: 'fast_interval' must be longer than 0",
               "test.toml:15:24: 'consecutive_failures' must be from 1 to 1000, not 0",
               "test.toml:16:23: 'max_ejected_percent' must be from 0 to 100, not 101",
               "test.toml:17:13: 'count_5xx' must be a boolean (true or false), not a string"));
}

}  // namespace
}  // namespace ringlb::config
