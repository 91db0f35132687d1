// Tests for config/validate: the checks across sections (pool references, port conflicts,
// settings that only work together), seen through load_config_text as a user sees them.
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

TEST(Validate, RoutesOnATcpListener) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "protocol = \"tcp\"",                             // 3
      "pool = \"app\"",                                 // 4
      "[[listeners.web.routes]]",                       // 5
      "pool = \"app\"",                                 // 6
      "[pools.app]",                                    // 7
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 8
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:5:1: routes need HTTP, but listener 'web' has protocol = "
                     "\"tcp\"; remove the routes or use protocol = \"http\""));
}

TEST(Validate, UnderscoresInHeadersIsABooleanForHttpListeners) {
  LoadResult http = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[listeners.web.limits]",                         // 4
      "underscores_in_headers = true",                  // 5
      "[pools.app]",                                    // 6
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 7
  });
  EXPECT_EQ(printed(http), expected());
  ASSERT_TRUE(http.config);
  EXPECT_TRUE(http.config->listeners[0].limits.underscores_in_headers);
  LoadResult tcp = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "protocol = \"tcp\"",                             // 3
      "pool = \"app\"",                                 // 4
      "[listeners.web.limits]",                         // 5
      "underscores_in_headers = true",                  // 6
      "[pools.app]",                                    // 7
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 8
  });
  EXPECT_EQ(printed(tcp),
            expected("test.toml:6:26: underscores_in_headers needs HTTP, but listener 'web' has "
                     "protocol = \"tcp\"; remove it or use protocol = \"http\""));
  LoadResult word = load_before_base({"[listeners.web.limits]", "underscores_in_headers = \"on\""});
  EXPECT_EQ(printed(word), expected("test.toml:2:26: 'underscores_in_headers' must be a boolean "
                                    "(true or false), not a string"));
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

TEST(Validate, ListenersThatWouldShareAPort) {
  LoadResult result = load({
      "[listeners.a]",                                  // 1
      "bind = \"0.0.0.0:8080\"",                        // 2
      "pool = \"app\"",                                 // 3
      "[listeners.b]",                                  // 4
      "bind = \"127.0.0.1:8080\"",                      // 5
      "pool = \"app\"",                                 // 6
      "[listeners.c]",                                  // 7
      "bind = \"0.0.0.0:8080\"",                        // 8
      "pool = \"app\"",                                 // 9
      "[listeners.d]",                                  // 10
      "bind = \"[::]:9000\"",                           // 11
      "pool = \"app\"",                                 // 12
      "[listeners.e]",                                  // 13
      "bind = \"127.0.0.1:9000\"",                      // 14
      "pool = \"app\"",                                 // 15
      "[listeners.f]",                                  // 16
      "bind = \"127.0.0.1:8081\"",                      // 17
      "pool = \"app\"",                                 // 18
      "[listeners.g]",                                  // 19
      "bind = \"[::1]:8081\"",                          // 20
      "pool = \"app\"",                                 // 21
      "[pools.app]",                                    // 22
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 23
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:5:8: listener 'b': 127.0.0.1:8080 conflicts with listener 'a' on "
                     "0.0.0.0:8080 (line 1): same port, and one of them listens on every address",
                     "test.toml:8:8: listener 'c': 0.0.0.0:8080 is already the bind address of "
                     "listener 'a' (line 1)",
                     "test.toml:14:8: listener 'e': 127.0.0.1:9000 conflicts with listener 'd' on "
                     "[::]:9000 (line 10): same port, and an IPv6 bind without v6only = true "
                     "takes IPv4 clients too"));
}

// "[::]" is dual-stack unless v6only = true, which is what lets it share a port with 0.0.0.0.
TEST(Validate, V6onlyDecidesWhetherAnIpv6BindTakesIpv4Clients) {
  LoadResult result = load({
      "[listeners.a]",                                  // 1
      "bind = \"0.0.0.0:8080\"",                        // 2
      "pool = \"app\"",                                 // 3
      "[listeners.b]",                                  // 4
      "bind = \"[::]:8080\"",                           // 5
      "v6only = true",                                  // 6
      "pool = \"app\"",                                 // 7
      "[listeners.c]",                                  // 8
      "bind = \"[::1]:8080\"",                          // 9
      "v6only = true",                                  // 10
      "pool = \"app\"",                                 // 11
      "[listeners.d]",                                  // 12
      "bind = \"127.0.0.1:9000\"",                      // 13
      "pool = \"app\"",                                 // 14
      "[listeners.e]",                                  // 15
      "bind = \"[::ffff:127.0.0.1]:9000\"",             // 16
      "pool = \"app\"",                                 // 17
      "[listeners.f]",                                  // 18
      "bind = \"[::ffff:127.0.0.2]:9001\"",             // 19
      "v6only = true",                                  // 20
      "pool = \"app\"",                                 // 21
      "[listeners.g]",                                  // 22
      "bind = \"127.0.0.1:9002\"",                      // 23
      "v6only = false",                                 // 24
      "pool = \"app\"",                                 // 25
      "[pools.app]",                                    // 26
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 27
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:9:8: listener 'c': [::1]:8080 conflicts with listener 'b' on "
                     "[::]:8080 (line 4): same port, and one of them listens on every address",
                     "test.toml:16:8: listener 'e': [::ffff:127.0.0.1]:9000 conflicts with "
                     "listener 'd' on 127.0.0.1:9000 (line 12): same port, and an IPv6 bind "
                     "without v6only = true takes IPv4 clients too",
                     "test.toml:20:10: listener 'f': [::ffff:127.0.0.2]:9001 is an IPv4-mapped "
                     "address, which a socket with v6only = true cannot bind; remove v6only or "
                     "bind 127.0.0.2:9001",
                     "test.toml:24:10: warning: v6only is ignored unless bind is an IPv6 "
                     "address, like \"[::]:8080\""));
  EXPECT_FALSE(result.config);
}

TEST(Validate, SameAddressWrittenTwoWaysIsStillTheSame) {
  LoadResult result = load({
      "[listeners.a]",                                  // 1
      "bind = \"[::1]:8080\"",                          // 2
      "pool = \"app\"",                                 // 3
      "[listeners.b]",                                  // 4
      "bind = \"[0:0::1]:8080\"",                       // 5
      "pool = \"app\"",                                 // 6
      "[pools.app]",                                    // 7
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 8
  });
  EXPECT_EQ(printed(result), expected("test.toml:5:8: listener 'b': [::1]:8080 is already "
                                      "the bind address of listener 'a' (line 1)"));
}

TEST(Validate, AdminOnAListenerAddress) {
  LoadResult result = load_before_base({"[admin]", "listen = \"127.0.0.1:8080\""});
  EXPECT_EQ(printed(result),
            expected("test.toml:2:10: admin.listen: 127.0.0.1:8080 is already the bind "
                     "address of listener 'web' (line 3)"));
}

TEST(Validate, AdminOnLoopbackNeedsNoToken) {
  LoadResult result = load_before_base({"[admin]", "listen = \"127.0.0.1:9090\""});
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->admin.listen->to_string(), "127.0.0.1:9090");
}

TEST(Validate, AdminOffLoopbackWithoutATokenIsAWarning) {
  LoadResult result = load_before_base({"[admin]", "listen = \"0.0.0.0:9090\""});
  EXPECT_EQ(printed(result),
            expected("test.toml:2:10: warning: admin.listen 0.0.0.0:9090 is not a loopback "
                     "address and admin.token is empty: anyone who reaches it can read /status "
                     "and /metrics, and every POST is refused until a token is set"));
  LoadResult with_token =
      load_before_base({"[admin]", "listen = \"0.0.0.0:9090\"", "token = \"s\""});
  EXPECT_EQ(printed(with_token), expected());
  EXPECT_EQ(with_token.config->admin.token, "s");
}

TEST(Validate, AnAdminTokenNoRequestCouldCarryIsRefused) {
  const std::string message =
      "test.toml:3:9: admin.token must be a non-empty token68 (letters, digits and - . _ ~ + /, "
      "then optional '=' padding), as a client sends it after \"Authorization: Bearer\"; with "
      "any other byte (a space, a control character) no request could match it";
  // Written as TOML basic strings: a leading or trailing space, a newline, a NUL, a tab, an
  // empty token, '=' that is not trailing padding, a byte past ASCII.
  for (const char* token : {"\" abc\"", "\"abc \"", "\"a\\nb\"", "\"a\\u0000b\"", "\"a\\tb\"",
                            "\"\"", "\"a b\"", "\"=\"", "\"a=b\"", "\"caf\\u00e9\"", "\"a:b\""}) {
    LoadResult result = load_before_base(
        {"[admin]", "listen = \"127.0.0.1:9090\"", std::string("token = ") + token});
    EXPECT_EQ(printed(result), expected(message)) << token;
    EXPECT_FALSE(result.config) << token;
  }
}

TEST(Validate, Token68AdminTokensAreAccepted) {
  for (const char* token : {"s", "abc=", "A-z0.9_~+/x==", "dGhpcyBpcyBhIHRva2Vu"}) {
    LoadResult result = load_before_base(
        {"[admin]", "listen = \"127.0.0.1:9090\"", std::string("token = \"") + token + "\""});
    EXPECT_EQ(printed(result), expected()) << token;
    ASSERT_TRUE(result.config) << token;
    EXPECT_EQ(result.config->admin.token, token);
  }
}

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

// ---- Health ------------------------------------------------------------------------------------

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
