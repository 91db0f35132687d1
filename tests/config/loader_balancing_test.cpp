// Tests for config/loader's routing and balancing settings: route host and prefix, backend
// addresses, hash_key, and the tuning of the balancers (Maglev table, ring points, bounded load,
// choices).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.hpp"
#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

TEST(Loader, RouteHostAndPrefixSyntax) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[[listeners.web.routes]]",                       // 4
      "host = \"api.*.com\"",                           // 5
      "path_prefix = \"v1/\"",                          // 6
      "pool = \"app\"",                                 // 7
      "[pools.app]",                                    // 8
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 9
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:5:8: 'host' may use '*' only as a leading \"*.\", like "
                     "\"*.example.com\"",
                     "test.toml:6:15: 'path_prefix' must start with '/'"));
}

TEST(Loader, BackendCannotBeAWildcard) {
  LoadResult result = load({
      "[listeners.web]",                              // 1
      "bind = \"127.0.0.1:8080\"",                    // 2
      "pool = \"app\"",                               // 3
      "[pools.app]",                                  // 4
      "backends = [{ address = \"0.0.0.0:9001\" }]",  // 5
  });
  EXPECT_EQ(printed(result), expected("test.toml:5:25: a backend address cannot be 0.0.0.0 "
                                      "or [::]; give the backend's own IP"));
}

TEST(Loader, HashKeySyntax) {
  LoadResult result = load_before_base({
      "[pools.api]",                                    // 1
      "balance = \"consistent_hash\"",                  // 2
      "hash_key = \"headr:X-User\"",                    // 3
      "backends = [{ address = \"127.0.0.1:9002\" }]",  // 4
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:3:12: 'hash_key' must be client_ip, uri, header:NAME or "
                     "cookie:NAME, not \"headr:X-User\"; did you mean \"header:X-User\"?"));
}

TEST(Loader, ReadsTheBalancerTuning) {
  LoadResult result = load_before_base({
      "[pools.api]",
      "balance = \"consistent_hash\"",
      "hash_key = \"client_ip\"",
      "maglev_table_size = 655373",
      "hash_balance_factor = 125",
      "backends = [{ address = \"127.0.0.1:9002\" }]",
      "[pools.ring]",
      "balance = \"consistent_hash\"",
      "hash_key = \"client_ip\"",
      "hash_method = \"ring\"",
      "ring_points_per_weight = 1000",
      "backends = [{ address = \"127.0.0.1:9003\" }]",
      "[pools.lc]",
      "balance = \"least_connections\"",
      "choices = 2",
      "backends = [{ address = \"127.0.0.1:9004\" }]",
  });
  ASSERT_TRUE(result.config) << ::testing::PrintToString(printed(result));
  EXPECT_EQ(printed(result), expected());
  const std::vector<PoolConfig>& pools = result.config->pools;
  EXPECT_EQ(pools[0].maglev_table_size, 655373u);
  EXPECT_EQ(pools[0].hash_balance_factor, 125u);
  EXPECT_EQ(pools[1].ring_points_per_weight, 1000u);
  EXPECT_EQ(pools[2].choices, 2u);
}

TEST(Loader, RefusesBadBalancerTuning) {
  LoadResult result = load_before_base({
      "[pools.api]",                                    // 1
      "balance = \"consistent_hash\"",                  // 2
      "hash_key = \"client_ip\"",                       // 3
      "maglev_table_size = 65536",                      // 4
      "hash_balance_factor = 50",                       // 5
      "ring_points_per_weight = 0",                     // 6
      "backends = [{ address = \"127.0.0.1:9002\" }]",  // 7
      "[pools.lc]",                                     // 8
      "balance = \"least_connections\"",                // 9
      "choices = 1",                                    // 10
      "backends = [{ address = \"127.0.0.1:9003\" }]",  // 11
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:4:21: 'maglev_table_size' must be a prime number, not 65536; "
                     "the next prime is 65537",
                     "test.toml:5:23: 'hash_balance_factor' must be 0 or from 100 to 10000, not "
                     "50 (a percentage of the mean load, like 125; 0 = no bound)",
                     "test.toml:6:26: 'ring_points_per_weight' must be from 1 to 10000, not 0",
                     "test.toml:6:26: warning: ring_points_per_weight is ignored unless "
                     "hash_method = \"ring\"",
                     "test.toml:10:11: 'choices' must be 0 or from 2 to 16, not 1 (0 = compare "
                     "every backend, 2 = the less loaded of two random ones)"));
}

TEST(Loader, MaglevTableSizeHasLimits) {
  LoadResult result = load_before_base({
      "[pools.api]",                                    // 1
      "balance = \"consistent_hash\"",                  // 2
      "hash_key = \"client_ip\"",                       // 3
      "maglev_table_size = 16777259",                   // 4
      "backends = [{ address = \"127.0.0.1:9002\" }]",  // 5
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:4:21: 'maglev_table_size' must be from 2 to 16777213, not "
                     "16777259"));
}

}  // namespace
}  // namespace ringlb::config
