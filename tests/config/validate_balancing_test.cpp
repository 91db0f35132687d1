// Tests for config/validate's balancing checks: hash_key against the balancer and the listener's
// protocol, and tuning that another algorithm would ignore or that is too large.
#include <gtest/gtest.h>

#include "config/validate.hpp"
#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

TEST(Validate, ConsistentHashNeedsAHashKey) {
  LoadResult result = load_before_base({
      "[pools.api]",                                    // 1
      "balance = \"consistent_hash\"",                  // 2
      "backends = [{ address = \"127.0.0.1:9002\" }]",  // 3
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:2:11: balance = \"consistent_hash\" needs a hash_key: "
                     "client_ip, uri, header:NAME or cookie:NAME"));
}

TEST(Validate, HashSettingsWithoutConsistentHashAreIgnoredWithAWarning) {
  LoadResult result = load_before_base({
      "[pools.api]",                                    // 1
      "hash_key = \"client_ip\"",                       // 2
      "hash_method = \"ring\"",                         // 3
      "backends = [{ address = \"127.0.0.1:9002\" }]",  // 4
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:2:12: warning: hash_key is ignored unless balance = "
                     "\"consistent_hash\"",
                     "test.toml:3:15: warning: hash_method is ignored unless balance = "
                     "\"consistent_hash\""));
  EXPECT_TRUE(result.config);
}

TEST(Validate, HttpHashKeyOnAPoolServingATcpListener) {
  LoadResult result = load({
      "[listeners.pg]",                                 // 1
      "bind = \"127.0.0.1:5432\"",                      // 2
      "protocol = \"tcp\"",                             // 3
      "pool = \"db\"",                                  // 4
      "[pools.db]",                                     // 5
      "balance = \"consistent_hash\"",                  // 6
      "hash_key = \"header:X-User-Id\"",                // 7
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 8
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:7:12: hash_key = \"header:X-User-Id\" needs HTTP, but pool "
                     "'db' serves tcp listener 'pg' (line 1); use hash_key = "
                     "\"client_ip\""));
}

TEST(Validate, ClientIpHashOnATcpListenerLoads) {
  LoadResult result = load({
      "[listeners.pg]",
      "bind = \"127.0.0.1:5432\"",
      "protocol = \"tcp\"",
      "pool = \"db\"",
      "[pools.db]",
      "balance = \"consistent_hash\"",
      "hash_key = \"client_ip\"",
      "hash_method = \"ring\"",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->pools[0].hash_key, "client_ip");
  EXPECT_EQ(result.config->pools[0].hash_method, "ring");
}

TEST(Validate, TuningForAnotherAlgorithmIsIgnoredWithAWarning) {
  LoadResult result = load_before_base({
      "[pools.api]",                                    // 1
      "balance = \"least_connections\"",                // 2
      "maglev_table_size = 101",                        // 3
      "hash_balance_factor = 125",                      // 4
      "backends = [{ address = \"127.0.0.1:9002\" }]",  // 5
      "[pools.rr]",                                     // 6
      "choices = 2",                                    // 7
      "backends = [{ address = \"127.0.0.1:9003\" }]",  // 8
      "[pools.ring]",                                   // 9
      "balance = \"consistent_hash\"",                  // 10
      "hash_key = \"uri\"",                             // 11
      "hash_method = \"ring\"",                         // 12
      "maglev_table_size = 101",                        // 13
      "backends = [{ address = \"127.0.0.1:9004\" }]",  // 14
      "[pools.maglev]",                                 // 15
      "balance = \"consistent_hash\"",                  // 16
      "hash_key = \"uri\"",                             // 17
      "ring_points_per_weight = 200",                   // 18
      "backends = [{ address = \"127.0.0.1:9005\" }]",  // 19
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:3:21: warning: maglev_table_size is ignored unless balance = "
                     "\"consistent_hash\"",
                     "test.toml:4:23: warning: hash_balance_factor is ignored unless balance = "
                     "\"consistent_hash\"",
                     "test.toml:7:11: warning: choices is ignored unless balance = "
                     "\"least_connections\"",
                     "test.toml:13:21: warning: maglev_table_size is ignored unless hash_method "
                     "= \"maglev\"",
                     "test.toml:18:26: warning: ring_points_per_weight is ignored unless "
                     "hash_method = \"ring\""));
  EXPECT_TRUE(result.config);
}

TEST(Validate, MaglevTableNeedsASlotPerBackendAndWantsAHundred) {
  LoadResult result = load_before_base({
      "[pools.tiny]",                                                               // 1
      "balance = \"consistent_hash\"",                                              // 2
      "hash_key = \"client_ip\"",                                                   // 3
      "maglev_table_size = 2",                                                      // 4
      "backends = [",                                                               // 5
      "  { address = \"10.0.0.1:80\" },",                                           // 6
      "  { address = \"10.0.0.2:80\" },",                                           // 7
      "  { address = \"10.0.0.3:80\" },",                                           // 8
      "  { address = \"10.0.0.4:80\", weight = 0 },",                               // 9
      "]",                                                                          // 10
      "[pools.small]",                                                              // 11
      "balance = \"consistent_hash\"",                                              // 12
      "hash_key = \"client_ip\"",                                                   // 13
      "maglev_table_size = 101",                                                    // 14
      "backends = [{ address = \"10.0.0.1:80\" }, { address = \"10.0.0.2:80\" }]",  // 15
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:4:21: maglev_table_size = 2 for 3 backends: some backends would "
                     "get no slot; use a prime of at least 300",
                     "test.toml:14:21: warning: maglev_table_size = 101 for 2 backends leaves "
                     "under 100 slots per backend, so shares may differ by more than 1%; use a "
                     "prime of at least 200"));
}

TEST(Validate, TheRingHasACapOnPoints) {
  LoadResult result = load_before_base({
      "[pools.api]",                                                // 1
      "balance = \"consistent_hash\"",                              // 2
      "hash_key = \"client_ip\"",                                   // 3
      "hash_method = \"ring\"",                                     // 4
      "ring_points_per_weight = 10000",                             // 5
      "backends = [{ address = \"10.0.0.1:80\", weight = 1000 },",  // 6
      "            { address = \"10.0.0.2:80\", weight = 1000 }]",  // 7
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:5:26: the ring of pool 'api' would hold 20000000 points "
                     "(ring_points_per_weight × total weight); at most 16777216 are allowed"));
}

TEST(Validate, WhichBalancersNeedAHashKeyComesFromTheOptions) {
  LoadOptions options = known_balancers();
  options.balancers.push_back("sticky");
  options.hash_key_balancers = {"consistent_hash", "sticky"};
  LoadResult result = load_config_text(join({
                                           "[listeners.pg]",                                 // 1
                                           "bind = \"127.0.0.1:5432\"",                      // 2
                                           "protocol = \"tcp\"",                             // 3
                                           "pool = \"db\"",                                  // 4
                                           "[pools.db]",                                     // 5
                                           "balance = \"sticky\"",                           // 6
                                           "hash_key = \"uri\"",                             // 7
                                           "backends = [{ address = \"127.0.0.1:9001\" }]",  // 8
                                           "[pools.rr]",                                     // 9
                                           "hash_key = \"uri\"",                             // 10
                                           "backends = [{ address = \"127.0.0.1:9002\" }]",  // 11
                                       }),
                                       "test.toml", options);
  EXPECT_EQ(printed(result),
            expected("test.toml:7:12: hash_key = \"uri\" needs HTTP, but pool 'db' serves tcp "
                     "listener 'pg' (line 1); use hash_key = \"client_ip\"",
                     "test.toml:10:12: warning: hash_key is ignored unless balance = "
                     "\"consistent_hash\" or \"sticky\""));
}

}  // namespace
}  // namespace ringlb::config
