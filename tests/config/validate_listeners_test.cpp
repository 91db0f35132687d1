// Tests for config/validate's listener checks: routes and HTTP settings on a tcp listener,
// listeners that would share a port, and the admin port and its token.
#include <gtest/gtest.h>

#include "config/validate.hpp"
#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

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

}  // namespace
}  // namespace ringlb::config
