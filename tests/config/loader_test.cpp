// Tests for config/loader: what a user sees for each mistake in a single value or section, at
// which line and column, and that a good file (example.toml among them) loads what it says.
#include "config/loader.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Loader, BaseSetupLoadsCleanly) {
  LoadResult result = load_before_base({});
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->path, "test.toml");
}

TEST(Loader, ExampleFileLoadsWithoutAnyDiagnostic) {
  LoadResult result = load_config_file(RINGLB_SOURCE_DIR "/config/example.toml", known_balancers());
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  const Config& config = *result.config;
  ASSERT_EQ(config.listeners.size(), 2u);
  EXPECT_EQ(config.listeners[0].name, "web");
  EXPECT_EQ(config.listeners[0].bind.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(config.listeners[0].protocol, Protocol::kHttp);
  EXPECT_EQ(config.listeners[0].pool, "app");
  EXPECT_EQ(config.listeners[1].name, "l4");
  EXPECT_EQ(config.listeners[1].bind.to_string(), "127.0.0.1:8081");
  EXPECT_EQ(config.listeners[1].protocol, Protocol::kTcp);
  EXPECT_EQ(config.listeners[1].pool, "app");
  const PoolConfig* app = config.find_pool("app");
  ASSERT_NE(app, nullptr);
  ASSERT_EQ(app->backends.size(), 2u);
  EXPECT_EQ(app->backends[0].address.to_string(), "127.0.0.1:9001");
  EXPECT_EQ(app->backends[1].address.to_string(), "127.0.0.1:9002");
  ASSERT_TRUE(app->health);
  EXPECT_EQ(app->health->check, ProbeKind::kHttp);
}

// ---- Syntax and I/O ---------------------------------------------------------------------------

TEST(Loader, SyntaxErrorIsOneDiagnosticAtItsPosition) {
  LoadResult result = load({"[runtime]", "workers = = 2"});
  EXPECT_FALSE(result.config);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  const Diagnostic& error = result.diagnostics[0];
  EXPECT_EQ(error.severity, Severity::kError);
  EXPECT_EQ(error.file, "test.toml");
  EXPECT_EQ(error.line, 2u);
  EXPECT_EQ(error.column, 11u);
  EXPECT_FALSE(error.message.empty());
}

TEST(Loader, UnreadableFileIsADiagnosticWithoutPosition) {
  LoadResult result = load_config_file("/nonexistent/ringlb.toml", known_balancers());
  EXPECT_FALSE(result.config);
  EXPECT_EQ(printed(result),
            expected("/nonexistent/ringlb.toml: cannot read /nonexistent/ringlb.toml: "
                     "No such file or directory"));
  EXPECT_EQ(result.diagnostics[0].line, 0u);
}

TEST(Loader, DirectoryIsUnreadable) {
  LoadResult result = load_config_file("/", known_balancers());
  EXPECT_EQ(printed(result), expected("/: cannot read /: it is a directory, not a regular file"));
}

// A FIFO would block a plain open until a writer comes: the loader must refuse it at once.
TEST(Loader, AFifoIsRefusedWithoutWaitingForAWriter) {
  char directory[] = "/tmp/ringlb-loader-fifo-XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  const std::string fifo = std::string(directory) + "/ringlb.toml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  LoadResult result = load_config_file(fifo, known_balancers());
  EXPECT_EQ(printed(result),
            expected(fifo + ": cannot read " + fifo + ": it is a FIFO, not a regular file"));
  unlink(fifo.c_str());
  rmdir(directory);
}

// ---- Unknown keys -----------------------------------------------------------------------------

TEST(Loader, UnknownKeySuggestsTheNearestKnownKey) {
  LoadResult result = load_before_base({"[runtime]", "wrokers = 2"});
  EXPECT_FALSE(result.config);
  EXPECT_EQ(printed(result),
            expected("test.toml:2:1: unknown key 'wrokers' in [runtime]; did you mean "
                     "'workers'?"));
}

TEST(Loader, UnknownTopLevelKey) {
  LoadResult result = load_before_base({"listener = 5"});
  EXPECT_EQ(printed(result),
            expected("test.toml:1:1: unknown key 'listener' at the top level; did you mean "
                     "'listeners'?"));
}

TEST(Loader, UnknownKeysAreReportedAtEveryLevel) {
  LoadResult result = load({
      "[runtime]",                                                      // 1
      "usr = \"x\"",                                                    // 2
      "[admin]",                                                        // 3
      "tokn = \"t\"",                                                   // 4
      "[log]",                                                          // 5
      "lvel = \"info\"",                                                // 6
      "[listeners.web]",                                                // 7
      "bind = \"127.0.0.1:8080\"",                                      // 8
      "pool = \"app\"",                                                 // 9
      "protocl = \"http\"",                                             // 10
      "[listeners.web.timeouts]",                                       // 11
      "headr = \"1s\"",                                                 // 12
      "[listeners.web.limits]",                                         // 13
      "max_body_byte = 1",                                              // 14
      "[[listeners.web.routes]]",                                       // 15
      "pool = \"app\"",                                                 // 16
      "prefix = \"/v1/\"",                                              // 17
      "[listeners.web.tls]",                                            // 18
      "certificates = [{ cert = \"c\", key = \"k\", chain = \"x\" }]",  // 19
      "min_versin = \"1.3\"",                                           // 20
      "[pools.app]",                                                    // 21
      "backends = [{ address = \"127.0.0.1:9001\", wieght = 2 }]",      // 22
      "balanse = \"random\"",                                           // 23
      "[pools.app.health]",                                             // 24
      "intervl = \"2s\"",                                               // 25
      "[pools.app.tls]",                                                // 26
      "verfy = true",                                                   // 27
      "[pools.app.timeouts]",                                           // 28
      "conect = \"1s\"",                                                // 29
  });
  EXPECT_FALSE(result.config);
  EXPECT_EQ(
      printed(result),
      expected(
          "test.toml:2:1: unknown key 'usr' in [runtime]; did you mean 'user'?",
          "test.toml:4:1: unknown key 'tokn' in [admin]; did you mean 'token'?",
          "test.toml:6:1: unknown key 'lvel' in [log]; did you mean 'level'?",
          "test.toml:10:1: unknown key 'protocl' in [listeners.web]; did you mean 'protocol'?",
          "test.toml:12:1: unknown key 'headr' in [listeners.web.timeouts]; did you mean "
          "'header'?",
          "test.toml:14:1: unknown key 'max_body_byte' in [listeners.web.limits]; did you mean "
          "'max_body_bytes'?",
          "test.toml:17:1: unknown key 'prefix' in listeners.web.routes[0]",
          "test.toml:19:26: cannot read certificate c: No such file or directory",
          "test.toml:19:37: cannot read private key k: No such file or directory",
          "test.toml:19:42: unknown key 'chain' in listeners.web.tls.certificates[0]",
          "test.toml:20:1: unknown key 'min_versin' in [listeners.web.tls]; did you mean "
          "'min_version'?",
          "test.toml:22:43: unknown key 'wieght' in pools.app.backends[0]; did you mean "
          "'weight'?",
          "test.toml:23:1: unknown key 'balanse' in [pools.app]; did you mean 'balance'?",
          "test.toml:25:1: unknown key 'intervl' in [pools.app.health]; did you mean "
          "'interval'?",
          "test.toml:27:1: unknown key 'verfy' in [pools.app.tls]; did you mean 'verify'?",
          "test.toml:29:1: unknown key 'conect' in [pools.app.timeouts]; did you mean "
          "'connect'?"));
}

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
            expected("test.toml:2:20: 'max_header_bytes' must be at least 1 byte",
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
            expected("test.toml:2:20: 'max_header_bytes' must be at most 1024 KiB, not \"2MiB\""));
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

// ---- Required keys and references -------------------------------------------------------------

TEST(Loader, MissingRequiredKeys) {
  LoadResult result = load({
      "[listeners.web]",              // 1
      "protocol = \"tcp\"",           // 2
      "[[listeners.web.routes]]",     // 3
      "path_prefix = \"/v1/\"",       // 4
      "[pools.app]",                  // 5
      "balance = \"random\"",         // 6
      "[pools.api]",                  // 7
      "backends = []",                // 8
      "[pools.db]",                   // 9
      "backends = [{ weight = 2 }]",  // 10
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:1:1: listener 'web' has no 'bind' address",
                     "test.toml:1:1: listener 'web' has no 'pool'",
                     "test.toml:3:1: this route has no 'pool'",
                     "test.toml:3:1: routes need HTTP, but listener 'web' has protocol = \"tcp\"; "
                     "remove the routes or use protocol = \"http\"",
                     "test.toml:5:1: pool 'app' has no 'backends'",
                     "test.toml:8:12: pool 'api' has no backends; add one like { address = "
                     "\"10.0.0.1:8080\" }",
                     "test.toml:10:13: this backend has no 'address'"));
}

TEST(Loader, NoListenersAtAll) {
  LoadResult result = load({"[pools.app]", "backends = [{ address = \"127.0.0.1:9001\" }]"});
  EXPECT_EQ(printed(result), expected("test.toml:1:1: the configuration has no listeners; "
                                      "add a [listeners.NAME] section"));
  LoadResult empty =
      load({"[pools.app]", "backends = [{ address = \"127.0.0.1:9001\" }]", "[listeners]"});
  EXPECT_EQ(printed(empty), expected("test.toml:3:1: the configuration has no listeners; add a "
                                     "[listeners.NAME] section"));
}

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

// ---- Everything at once -----------------------------------------------------------------------

TEST(Loader, EveryProblemInAFileIsReportedNotOnlyTheFirst) {
  LoadResult result = load({
      "[runtime]",                                        // 1
      "workers = -1",                                     // 2
      "threads = 4",                                      // 3
      "[log]",                                            // 4
      "format = \"xml\"",                                 // 5
      "[listeners.web]",                                  // 6
      "bind = \"127.0.0.1:99999\"",                       // 7
      "pool = \"ap\"",                                    // 8
      "[listeners.web.timeouts]",                         // 9
      "header = \"10\"",                                  // 10
      "[pools.app]",                                      // 11
      "backends = [",                                     // 12
      "  { address = \"127.0.0.1:9001\" },",              // 13
      "  { address = \"127.0.0.1:9001\", weight = 2 },",  // 14
      "]",                                                // 15
  });
  EXPECT_FALSE(result.config);
  EXPECT_EQ(
      printed(result),
      expected("test.toml:2:11: 'workers' must be from 0 to 1024, not -1",
               "test.toml:3:1: unknown key 'threads' in [runtime]",
               "test.toml:5:10: 'format' must be \"text\" or \"json\", not \"xml\"",
               "test.toml:7:8: invalid address \"127.0.0.1:99999\" for 'bind': the port must be a "
               "number from 1 to 65535",
               "test.toml:8:8: unknown pool 'ap'; did you mean 'app'?",
               "test.toml:10:10: 'header' must be a duration like \"250ms\", \"2s\" or \"1m30s\" "
               "(units ms, s, m, h), not \"10\"",
               "test.toml:14:15: backend 127.0.0.1:9001 is listed twice in pool 'app' (first at "
               "line 13)"));
}

// ---- What a good file loads into --------------------------------------------------------------

TEST(Loader, DefaultsMatchTheModel) {
  LoadResult result = load({
      "[listeners.web]",
      "bind = \"0.0.0.0:8080\"",
      "pool = \"app\"",
      "[pools.app]",
      "backends = [{ address = \"10.0.0.1:8080\" }]",
  });
  ASSERT_TRUE(result.config) << ::testing::PrintToString(printed(result));
  const Config& config = *result.config;
  EXPECT_EQ(config.runtime.workers, RuntimeConfig{}.workers);
  EXPECT_EQ(config.runtime.max_connections, 100000u);
  EXPECT_EQ(config.runtime.max_tls_handshakes_per_second, 1000u);
  EXPECT_EQ(config.runtime.grace_period, seconds(30));
  EXPECT_EQ(config.runtime.user, "");
  EXPECT_FALSE(config.admin.listen);
  EXPECT_EQ(config.log.level, LogLevel::kInfo);
  EXPECT_EQ(config.log.access, "stdout");
  EXPECT_EQ(config.log.format, LogFormat::kText);
  const ListenerConfig& web = config.listeners[0];
  EXPECT_EQ(web.protocol, Protocol::kHttp);
  EXPECT_EQ(web.timeouts.header, seconds(10));
  EXPECT_EQ(web.timeouts.client_idle, seconds(60));
  EXPECT_EQ(web.timeouts.tls_handshake, seconds(10));
  EXPECT_EQ(web.limits.max_header_bytes, 32u * 1024);
  EXPECT_EQ(web.limits.max_body_bytes, 0u);
  EXPECT_TRUE(web.routes.empty());
  EXPECT_FALSE(web.tls);
  const PoolConfig& app = config.pools[0];
  EXPECT_EQ(app.balance, "round_robin");
  EXPECT_EQ(app.hash_key, "");
  EXPECT_EQ(app.hash_method, "maglev");
  EXPECT_EQ(app.maglev_table_size, 65537u);
  EXPECT_EQ(app.ring_points_per_weight, 160u);
  EXPECT_EQ(app.hash_balance_factor, 0u);
  EXPECT_EQ(app.choices, 0u);
  EXPECT_EQ(app.backends[0].weight, 1u);
  EXPECT_FALSE(app.health);
  EXPECT_FALSE(app.passive);
  EXPECT_EQ(app.panic_threshold_percent, 0u);
  EXPECT_EQ(app.panic, PanicMode::kFail);
  EXPECT_EQ(app.slow_start, seconds(0));
  EXPECT_FALSE(app.tls);
  EXPECT_EQ(app.timeouts.connect, seconds(3));
  EXPECT_EQ(app.timeouts.response, seconds(30));
  EXPECT_EQ(app.timeouts.idle, seconds(60));
}

TEST(Loader, EveryValueIsRead) {
  LoadResult result = load({
      "[runtime]",                                       // 1
      "workers = 4",                                     // 2
      "max_connections = 5000",                          // 3
      "grace_period = \"1m30s\"",                        // 4
      "user = \"ringlb\"",                               // 5
      "[log]",                                           // 6
      "level = \"debug\"",                               // 7
      "access = \"/var/log/ringlb/access.log\"",         // 8
      "format = \"json\"",                               // 9
      "[listeners.web]",                                 // 10
      "bind = \"[::]:8080\"",                            // 11
      "protocol = \"http\"",                             // 12
      "pool = \"app\"",                                  // 13
      "[listeners.web.timeouts]",                        // 14
      "header = \"5s\"",                                 // 15
      "client_idle = \"2m\"",                            // 16
      "[listeners.web.limits]",                          // 17
      "max_header_bytes = \"16KiB\"",                    // 18
      "max_body_bytes = 1048576",                        // 19
      "[[listeners.web.routes]]",                        // 20
      "host = \"*.example.com\"",                        // 21
      "path_prefix = \"/v1/\"",                          // 22
      "pool = \"api\"",                                  // 23
      "[pools.app]",                                     // 24
      "balance = \"least_connections\"",                 // 25
      "backends = [",                                    // 26
      "  { address = \"10.0.0.1:8080\", weight = 2 },",  // 27
      "  { address = \"[fd00::2]:8080\" },",             // 28
      "]",                                               // 29
      "[pools.app.timeouts]",                            // 30
      "connect = \"250ms\"",                             // 31
      "response = \"10s\"",                              // 32
      "idle = \"1h\"",                                   // 33
      "[pools.api]",                                     // 34
      "balance = \"consistent_hash\"",                   // 35
      "hash_key = \"cookie:session\"",                   // 36
      "backends = [{ address = \"10.0.1.1:8080\" }]",    // 37
  });
  ASSERT_TRUE(result.config) << ::testing::PrintToString(printed(result));
  EXPECT_EQ(printed(result), expected());
  const Config& config = *result.config;
  EXPECT_EQ(config.runtime.workers, 4u);
  EXPECT_EQ(config.runtime.max_connections, 5000u);
  EXPECT_EQ(config.runtime.grace_period, seconds(90));
  EXPECT_EQ(config.runtime.user, "ringlb");
  EXPECT_EQ(config.log.level, LogLevel::kDebug);
  EXPECT_EQ(config.log.access, "/var/log/ringlb/access.log");
  EXPECT_EQ(config.log.format, LogFormat::kJson);

  ASSERT_EQ(config.listeners.size(), 1u);
  const ListenerConfig& web = config.listeners[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.bind, (Address{"::", 8080, true}));
  EXPECT_EQ(web.position.line, 10u);
  EXPECT_EQ(web.position.column, 1u);
  EXPECT_EQ(web.timeouts.header, seconds(5));
  EXPECT_EQ(web.timeouts.client_idle, seconds(120));
  EXPECT_EQ(web.limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(web.limits.max_body_bytes, 1048576u);
  ASSERT_EQ(web.routes.size(), 1u);
  EXPECT_EQ(web.routes[0].host, "*.example.com");
  EXPECT_EQ(web.routes[0].path_prefix, "/v1/");
  EXPECT_EQ(web.routes[0].pool, "api");
  EXPECT_EQ(web.routes[0].position.line, 20u);

  ASSERT_EQ(config.pools.size(), 2u);
  const PoolConfig& app = config.pools[0];
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.position.line, 24u);
  EXPECT_EQ(app.balance, "least_connections");
  ASSERT_EQ(app.backends.size(), 2u);
  EXPECT_EQ(app.backends[0].address, (Address{"10.0.0.1", 8080, false}));
  EXPECT_EQ(app.backends[0].weight, 2u);
  EXPECT_EQ(app.backends[0].position.line, 27u);
  EXPECT_EQ(app.backends[0].position.column, 3u);
  EXPECT_EQ(app.backends[1].address.to_string(), "[fd00::2]:8080");
  EXPECT_EQ(app.timeouts.connect, milliseconds(250));
  EXPECT_EQ(app.timeouts.response, seconds(10));
  EXPECT_EQ(app.timeouts.idle, std::chrono::hours(1));
  const PoolConfig* api = config.find_pool("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->hash_key, "cookie:session");
  EXPECT_EQ(config.find_pool("nope"), nullptr);
}

TEST(Loader, ListenersAndPoolsKeepFileOrder) {
  LoadResult result = load({
      "[listeners.zeta]",
      "bind = \"127.0.0.1:8081\"",
      "pool = \"zulu\"",
      "[listeners.alpha]",
      "bind = \"127.0.0.1:8082\"",
      "pool = \"alpha\"",
      "[pools.zulu]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
      "[pools.alpha]",
      "backends = [{ address = \"127.0.0.1:9002\" }]",
  });
  ASSERT_TRUE(result.config) << ::testing::PrintToString(printed(result));
  EXPECT_EQ(result.config->listeners[0].name, "zeta");
  EXPECT_EQ(result.config->listeners[1].name, "alpha");
  EXPECT_EQ(result.config->pools[0].name, "zulu");
  EXPECT_EQ(result.config->pools[1].name, "alpha");
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
