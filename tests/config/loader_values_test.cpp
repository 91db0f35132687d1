// Tests for config/loader, one value at a time: what a user sees for a wrong type, a bad
// duration, size, address or word, and an integer out of its range, at which line and column.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.hpp"
#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

using std::chrono::milliseconds;

// ---- Types and value syntax -------------------------------------------------------------------

TEST(Loader, WrongTypesNameBothTypes) {
  LoadResult result = load_before_base({
      "[runtime]",          // 1
      "workers = \"4\"",    // 2
      "grace_period = 30",  // 3
      "user = true",        // 4
      "[log]",              // 5
      "level = 1.5",        // 6
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:2:11: 'workers' must be an integer, not a string",
                     "test.toml:3:16: 'grace_period' must be a duration string like \"2s\", not an "
                     "integer",
                     "test.toml:4:8: 'user' must be a string, not a boolean",
                     "test.toml:6:9: 'level' must be a string, not a float"));
}

TEST(Loader, SectionOfTheWrongType) {
  EXPECT_EQ(printed(load_before_base({"runtime = 5"})),
            expected("test.toml:1:11: 'runtime' must be a table, not an integer"));
}

TEST(Loader, ListenersWrittenAsAnArrayOfTables) {
  LoadResult result = load({
      "[[listeners]]",              // 1
      "bind = \"127.0.0.1:8080\"",  // 2
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:1:1: 'listeners' must be a table of named listeners "
                     "([listeners.NAME]), not an array"));
}

TEST(Loader, ListenerThatIsNotATable) {
  LoadResult result = load_before_base({"[listeners]", "api = \"127.0.0.1:80\""});
  EXPECT_EQ(printed(result),
            expected("test.toml:2:7: listener 'api' must be a table ([listeners.api]), not "
                     "a string"));
}

TEST(Loader, BadDurationSizeAndAddress) {
  LoadResult result = load({
      "[runtime]",                                // 1
      "grace_period = \"30 s\"",                  // 2
      "[listeners.web]",                          // 3
      "bind = \"localhost:8080\"",                // 4
      "pool = \"app\"",                           // 5
      "protocol = \"tcp\"",                       // 6
      "[listeners.web.timeouts]",                 // 7
      "header = \"0s\"",                          // 8
      "[listeners.web.limits]",                   // 9
      "max_header_bytes = \"32KB\"",              // 10
      "max_body_bytes = -1",                      // 11
      "[pools.app]",                              // 12
      "backends = [{ address = \"10.0.0.1\" }]",  // 13
  });
  EXPECT_EQ(
      printed(result),
      expected("test.toml:2:16: 'grace_period' must be a duration like \"250ms\", \"2s\" or "
               "\"1m30s\" (units ms, s, m, h), not \"30 s\"",
               "test.toml:4:8: invalid address \"localhost:8080\" for 'bind': hostnames are not "
               "resolved; use an IP address",
               "test.toml:8:10: 'header' must be longer than 0",
               "test.toml:10:20: 'max_header_bytes' must be a size like \"512\", \"16KiB\" or "
               "\"1MiB\" (units B, KiB, MiB, GiB), not \"32KB\"",
               "test.toml:11:18: 'max_body_bytes' must be a size like \"512\", \"16KiB\" or "
               "\"1MiB\" (units B, KiB, MiB, GiB), not -1",
               "test.toml:13:25: invalid address \"10.0.0.1\" for 'address': missing ':PORT'; "
               "expected HOST:PORT, like \"127.0.0.1:8080\""));
}

TEST(Loader, SizeOfTheWrongTypeAndZeroHeaderLimit) {
  LoadResult result = load_before_base({
      "[listeners.web.limits]",  // 1
      "max_header_bytes = 0",    // 2
      "max_body_bytes = 1.5",    // 3
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:2:20: 'max_header_bytes' must be at least 1 byte, not 0",
                     "test.toml:3:18: 'max_body_bytes' must be a size (\"32KiB\" or an "
                     "integer of bytes), not a float"));
}

TEST(Loader, TimeoutsMustBeLongerThanZero) {
  LoadResult result = load_before_base({
      "[pools.app.timeouts]",      // 1
      "connect = \"0ms\"",         // 2
      "response = \"0s\"",         // 3
      "idle = \"0m\"",             // 4
      "[listeners.web.timeouts]",  // 5
      "client_idle = \"0h\"",      // 6
  });
  EXPECT_EQ(printed(result), expected("test.toml:2:11: 'connect' must be longer than 0",
                                      "test.toml:3:12: 'response' must be longer than 0",
                                      "test.toml:4:8: 'idle' must be longer than 0",
                                      "test.toml:6:15: 'client_idle' must be longer than 0"));
}

// Each deadline is now + setting in int64 nanoseconds: "2563000h" wrapped into the past and
// killed every connection. Every duration key has the same documented limit.
TEST(Loader, EveryDurationAbove576HoursIsRefused) {
  struct Key {
    std::string table;
    std::string key;
    std::string after;  // a third line that keeps the value at the limit valid
  };
  const std::string tcp_check = "check = \"tcp\"";
  const std::vector<Key> keys = {
      {"runtime", "grace_period", ""},
      {"listeners.web.timeouts", "header", ""},
      {"listeners.web.timeouts", "client_idle", ""},
      {"listeners.web.timeouts", "tls_handshake", ""},
      {"pools.app.timeouts", "connect", ""},
      {"pools.app.timeouts", "response", ""},
      {"pools.app.timeouts", "idle", ""},
      {"pools.app.health", "interval", tcp_check},
      {"pools.app.health", "timeout", tcp_check + "\ninterval = \"576h\""},
      {"pools.app.health", "fast_interval", tcp_check},
      {"pools.app.health", "down_interval", tcp_check},
      {"pools.app.passive", "ejection_time", "max_ejection_time = \"576h\""},
      {"pools.app.passive", "max_ejection_time", ""},
  };
  for (const Key& key : keys) {
    for (const std::string value : {"2563000h", "577h", "576h1ms"}) {
      LoadResult result =
          load_before_base({"[" + key.table + "]", key.key + " = \"" + value + "\"", key.after});
      EXPECT_EQ(printed(result),
                expected("test.toml:2:" + std::to_string(key.key.size() + 4) + ": '" + key.key +
                         "' must be at most \"576h\" (24 days), not \"" + value + "\""))
          << key.table << "." << key.key;
    }
    LoadResult at_limit =
        load_before_base({"[" + key.table + "]", key.key + " = \"576h\"", key.after});
    EXPECT_EQ(printed(at_limit), expected()) << key.table << "." << key.key;
  }
}

TEST(Loader, SlowStartHasTheSameLimit) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[pools.app]",                                    // 4
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 5
      "slow_start = \"577h\"",                          // 6
  });
  EXPECT_EQ(
      printed(result),
      expected("test.toml:6:14: 'slow_start' must be at most \"576h\" (24 days), not \"577h\""));
}

TEST(Loader, DerivedHealthIntervalsStayWithinTheLimit) {
  LoadResult result = load_before_base({"[pools.app.health]", "interval = \"500h\""});
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->pools[0].health->down_interval, kMaxDuration);
}

TEST(Loader, MaxHeaderBytesIsAtMostOneMebibyte) {
  EXPECT_EQ(printed(load_before_base({"[listeners.web.limits]", "max_header_bytes = \"2MiB\""})),
            expected("test.toml:2:20: 'max_header_bytes' must be at most 1 MiB, not \"2MiB\""));
  EXPECT_EQ(printed(load_before_base({"[listeners.web.limits]", "max_header_bytes = \"1MiB\""})),
            expected());
}

TEST(Loader, AnEmptyCertificateListIsRefusedAtIt) {
  EXPECT_EQ(printed(load_before_base({"[listeners.web.tls]", "certificates = []"})),
            expected("test.toml:2:16: TLS needs at least one entry in 'certificates'"));
}

TEST(Loader, GracePeriodMayBeZero) {
  LoadResult result = load_before_base({"[runtime]", "grace_period = \"0s\""});
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->runtime.grace_period, milliseconds(0));
}

TEST(Loader, EnumValuesListTheChoicesAndSuggest) {
  LoadResult result = load({
      "[log]",                                          // 1
      "level = \"inf\"",                                // 2
      "format = \"yaml\"",                              // 3
      "[listeners.web]",                                // 4
      "bind = \"127.0.0.1:8080\"",                      // 5
      "protocol = \"htp\"",                             // 6
      "pool = \"app\"",                                 // 7
      "[pools.app]",                                    // 8
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 9
      "balance = \"round_robbin\"",                     // 10
      "hash_method = \"rings\"",                        // 11
      "[pools.app.health]",                             // 12
      "check = \"icmp\"",                               // 13
  });
  EXPECT_EQ(
      printed(result),
      expected(
          "test.toml:2:9: 'level' must be \"error\", \"warn\", \"info\" or \"debug\", not "
          "\"inf\"; did you mean \"info\"?",
          "test.toml:3:10: 'format' must be \"text\" or \"json\", not \"yaml\"",
          "test.toml:6:12: 'protocol' must be \"http\" or \"tcp\", not \"htp\"; did you mean "
          "\"http\"?",
          "test.toml:10:11: 'balance' must be \"round_robin\", \"least_connections\", "
          "\"consistent_hash\" or \"random\", not \"round_robbin\"; did you mean "
          "\"round_robin\"?",
          "test.toml:11:15: 'hash_method' must be \"maglev\" or \"ring\", not \"rings\"; did you "
          "mean \"ring\"?",
          "test.toml:13:9: 'check' must be \"http\", \"tcp\" or \"none\", not \"icmp\""));
}

TEST(Loader, EmptyAccessLogIsRefused) {
  EXPECT_EQ(printed(load_before_base({"[log]", "access = \"\""})),
            expected("test.toml:2:10: 'access' must not be empty"));
}

// ---- Integer ranges ---------------------------------------------------------------------------

TEST(Loader, IntegerRanges) {
  LoadResult result = load_before_base({
      "[runtime]",            // 1
      "workers = 2000",       // 2
      "max_connections = 0",  // 3
      "[pools.app.health]",   // 4
      "rise = 0",             // 5
      "fall = -1",            // 6
      "check = \"tcp\"",      // 7
  });
  EXPECT_EQ(printed(result), expected("test.toml:2:11: 'workers' must be from 0 to 1024, not 2000",
                                      "test.toml:3:19: 'max_connections' must be at least 1, not 0",
                                      "test.toml:5:8: 'rise' must be at least 1, not 0",
                                      "test.toml:6:8: 'fall' must be at least 1, not -1"));
}

TEST(Loader, TlsHandshakeRateFromZeroToOneBillion) {
  LoadResult result = load_before_base({
      "[runtime]",                                   // 1
      "max_tls_handshakes_per_second = 1000000001",  // 2
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:2:33: 'max_tls_handshakes_per_second' must be from 0 to "
                     "1000000000, not 1000000001"));
  result = load_before_base({"[runtime]", "max_tls_handshakes_per_second = 0"});
  ASSERT_TRUE(result.config) << ::testing::PrintToString(printed(result));
  EXPECT_EQ(result.config->runtime.max_tls_handshakes_per_second, 0u);
}

TEST(Loader, WeightFromZeroTo1000) {
  LoadResult result = load({
      "[listeners.web]",                                     // 1
      "bind = \"127.0.0.1:8080\"",                           // 2
      "pool = \"app\"",                                      // 3
      "[pools.app]",                                         // 4
      "backends = [",                                        // 5
      "  { address = \"127.0.0.1:9001\", weight = 0 },",     // 6
      "  { address = \"127.0.0.1:9002\", weight = 1000 },",  // 7
      "  { address = \"127.0.0.1:9003\", weight = 1001 },",  // 8
      "]",                                                   // 9
  });
  EXPECT_EQ(printed(result), expected("test.toml:8:42: 'weight' must be from 0 to 1000, not 1001"));
}

TEST(Loader, ZeroWeightMeansNeverPickedButLoads) {
  LoadResult result = load({
      "[listeners.web]",                                  // 1
      "bind = \"127.0.0.1:8080\"",                        // 2
      "pool = \"app\"",                                   // 3
      "[pools.app]",                                      // 4
      "backends = [",                                     // 5
      "  { address = \"127.0.0.1:9001\", weight = 0 },",  // 6
      "  { address = \"127.0.0.1:9002\" },",              // 7
      "]",                                                // 8
  });
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->pools[0].backends[0].weight, 0u);
  EXPECT_EQ(result.config->pools[0].backends[1].weight, 1u);
}

TEST(Loader, SizesMayBeStringsOrIntegers) {
  LoadResult result = load_before_base({
      "[listeners.web.limits]",
      "max_header_bytes = 8192",
      "max_body_bytes = \"2GiB\"",
  });
  ASSERT_TRUE(result.config) << ::testing::PrintToString(printed(result));
  EXPECT_EQ(result.config->listeners[0].limits.max_header_bytes, 8192u);
  EXPECT_EQ(result.config->listeners[0].limits.max_body_bytes, 2ull << 30);
}

}  // namespace
}  // namespace ringlb::config
