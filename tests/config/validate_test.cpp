// Tests for config/validate: the checks across sections, seen through load_config_text as a user
// sees them. Here pool references and backends; listeners and the admin port are in
// validate_listeners_test, hashing and tuning in validate_balancing_test, health in
// validate_health_test.
#include "config/validate.hpp"

#include <gtest/gtest.h>

#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

TEST(Validate, BalanceIsCheckedAgainstTheBalancersThisBuildKnows) {
  std::string text = join({
      "[listeners.web]",
      "bind = \"127.0.0.1:8080\"",
      "pool = \"app\"",
      "[pools.app]",
      "balance = \"random\"",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  LoadResult only_round_robin = load_config_text(text, "test.toml", LoadOptions{{"round_robin"}});
  EXPECT_EQ(printed(only_round_robin),
            expected("test.toml:5:11: 'balance' must be \"round_robin\", not \"random\""));
  LoadResult any = load_config_text(text, "test.toml", LoadOptions{});
  EXPECT_EQ(printed(any), expected());
}

TEST(Validate, UnknownPoolsSuggestTheNearestPool) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"ap\"",                                  // 3
      "[[listeners.web.routes]]",                       // 4
      "path_prefix = \"/v1/\"",                         // 5
      "pool = \"apii\"",                                // 6
      "[[listeners.web.routes]]",                       // 7
      "host = \"*.example.com\"",                       // 8
      "pool = \"billing\"",                             // 9
      "[pools.app]",                                    // 10
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 11
      "[pools.api]",                                    // 12
      "backends = [{ address = \"127.0.0.1:9002\" }]",  // 13
  });
  EXPECT_EQ(printed(result), expected("test.toml:3:8: unknown pool 'ap'; did you mean 'app'?",
                                      "test.toml:6:8: unknown pool 'apii'; did you mean 'api'?",
                                      "test.toml:9:8: unknown pool 'billing'"));
}

TEST(Validate, DuplicateBackendInOnePool) {
  LoadResult result = load({
      "[listeners.web]",                      // 1
      "bind = \"127.0.0.1:8080\"",            // 2
      "pool = \"app\"",                       // 3
      "[pools.app]",                          // 4
      "backends = [",                         // 5
      "  { address = \"127.0.0.1:9001\" },",  // 6
      "  { address = \"127.0.0.1:9002\" },",  // 7
      "  { address = \"127.0.0.1:9001\" },",  // 8
      "]",                                    // 9
  });
  EXPECT_EQ(printed(result), expected("test.toml:8:15: backend 127.0.0.1:9001 is listed "
                                      "twice in pool 'app' (first at line 6)"));
}

TEST(Validate, SameBackendInTwoPoolsIsFine) {
  LoadResult result = load({
      "[listeners.web]",
      "bind = \"127.0.0.1:8080\"",
      "pool = \"app\"",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
      "[pools.api]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  EXPECT_EQ(printed(result), expected());
}

TEST(Validate, PoolWhereEveryWeightIsZeroIsAWarning) {
  LoadResult result = load({
      "[listeners.web]",                                            // 1
      "bind = \"127.0.0.1:8080\"",                                  // 2
      "pool = \"app\"",                                             // 3
      "[pools.app]",                                                // 4
      "backends = [{ address = \"127.0.0.1:9001\", weight = 0 }]",  // 5
  });
  EXPECT_EQ(printed(result), expected("test.toml:5:12: warning: every backend of pool 'app' "
                                      "has weight 0, so none is ever picked"));
  EXPECT_TRUE(result.config);
}

}  // namespace
}  // namespace ringlb::config
