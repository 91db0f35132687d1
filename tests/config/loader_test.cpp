// Tests for config/loader, the file as a whole: a good file (example.toml among them) loads what
// it says, syntax and I/O errors, unknown keys, required keys, and every problem of a file at
// once. Single values are in loader_values_test, health in loader_health_test, routes, backends
// and balancer tuning in loader_balancing_test.
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

}  // namespace
}  // namespace ringlb::config
