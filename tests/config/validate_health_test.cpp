// Tests for config/validate's health checks: keys their check ignores, ejection times, panic
// and slow start.
#include <gtest/gtest.h>

#include "config/validate.hpp"
#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

TEST(Validate, HealthKeysWithoutTheirCheckAreIgnoredWithAWarning) {
  LoadResult none = load_before_base({
      "[pools.app.health]",  // 1
      "interval = \"1s\"",   // 2
      "path = \"/ready\"",   // 3
  });
  EXPECT_EQ(printed(none),
            expected("test.toml:2:12: warning: interval is ignored unless check = \"http\" or "
                     "\"tcp\"",
                     "test.toml:3:8: warning: path is ignored unless check = \"http\" or \"tcp\""));
  LoadResult tcp = load_before_base({
      "[pools.app.health]",    // 1
      "check = \"tcp\"",       // 2
      "expect_body = \"ok\"",  // 3
      "rise = 1",              // 4
  });
  EXPECT_EQ(printed(tcp),
            expected("test.toml:3:15: warning: expect_body is ignored unless check = \"http\""));
}

TEST(Validate, MaxEjectionTimeBelowEjectionTimeIsRefused) {
  LoadResult result = load_before_base({
      "[pools.app.passive]",          // 1
      "ejection_time = \"1m\"",       // 2
      "max_ejection_time = \"30s\"",  // 3
  });
  EXPECT_EQ(printed(result), expected("test.toml:3:21: max_ejection_time (30s) is shorter than "
                                      "ejection_time (60s)"));
}

TEST(Validate, PanicWithoutAThresholdIsIgnoredWithAWarning) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[pools.app]",                                    // 4
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 5
      "panic = \"serve_all\"",                          // 6
  });
  EXPECT_EQ(printed(result), expected("test.toml:6:9: warning: panic is ignored unless "
                                      "panic_threshold_percent is above 0"));
}

TEST(Validate, SlowStartIsIgnoredByConsistentHashing) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[pools.app]",                                    // 4
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 5
      "balance = \"consistent_hash\"",                  // 6
      "hash_key = \"uri\"",                             // 7
      "maglev_table_size = 101",                        // 8
      "slow_start = \"10s\"",                           // 9
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:9:14: warning: slow_start is ignored by balance = "
                     "\"consistent_hash\": hashing keeps each key on its backend, so a returning "
                     "backend takes its keys back at once"));
}

}  // namespace
}  // namespace ringlb::config
