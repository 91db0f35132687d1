// Tests for [listeners.NAME.http2]: its defaults, each key and each bound, the table refused on a
// tcp listener, and the ALPN list a TLS http listener offers because of it.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/config/load_helpers.hpp"
#include "tests/config/tls_fixture.hpp"

namespace ringlb::config {
namespace {

// The given lines, then an http listener 'web' on 127.0.0.1:8080 and a pool 'app' with one
// backend on the five lines after them.
LoadResult load_before_http(std::initializer_list<std::string_view> lines) {
  std::string text = join(lines) + join({
                                       "[listeners.web]",
                                       "bind = \"127.0.0.1:8080\"",
                                       "pool = \"app\"",
                                       "[pools.app]",
                                       "backends = [{ address = \"127.0.0.1:9001\" }]",
                                   });
  return load_config_text(text, "test.toml", known_balancers());
}

TEST(Http2, DefaultsWhenTheTableIsAbsent) {
  LoadResult result = load_before_http({});
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  const ListenerHttp2& http2 = result.config->listeners[0].http2;
  EXPECT_TRUE(http2.enabled);
  EXPECT_EQ(http2.max_concurrent_streams, 100u);
  EXPECT_EQ(http2.initial_window, 64u * 1024);
  EXPECT_EQ(http2.max_resets_per_second, 100u);
  EXPECT_EQ(http2.max_control_frames_per_second, 100u);
  EXPECT_EQ(http2.max_empty_frames_per_second, 100u);
}

TEST(Http2, EveryKeyIsRead) {
  LoadResult result = load_before_http({
      "[listeners.web.http2]",
      "enabled = false",
      "max_concurrent_streams = 7",
      "initial_window = \"1MiB\"",
      "max_resets_per_second = 11",
      "max_control_frames_per_second = 12",
      "max_empty_frames_per_second = 13",
  });
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  const ListenerHttp2& http2 = result.config->listeners[0].http2;
  EXPECT_FALSE(http2.enabled);
  EXPECT_EQ(http2.max_concurrent_streams, 7u);
  EXPECT_EQ(http2.initial_window, 1024u * 1024);
  EXPECT_EQ(http2.max_resets_per_second, 11u);
  EXPECT_EQ(http2.max_control_frames_per_second, 12u);
  EXPECT_EQ(http2.max_empty_frames_per_second, 13u);
}

TEST(Http2, TheBoundsThemselvesAreAccepted) {
  LoadResult low = load_before_http({
      "[listeners.web.http2]",
      "max_concurrent_streams = 1",
      "initial_window = \"16KiB\"",
      "max_resets_per_second = 1",
      "max_control_frames_per_second = 1",
      "max_empty_frames_per_second = 1",
  });
  EXPECT_EQ(printed(low), expected());
  LoadResult high = load_before_http({
      "[listeners.web.http2]",
      "max_concurrent_streams = 1000",
      "initial_window = \"16MiB\"",
      "max_resets_per_second = 100000",
      "max_control_frames_per_second = 100000",
      "max_empty_frames_per_second = 100000",
  });
  EXPECT_EQ(printed(high), expected());
  ASSERT_TRUE(high.config);
  EXPECT_EQ(high.config->listeners[0].http2.initial_window, 16u * 1024 * 1024);
}

TEST(Http2, BelowEachBoundIsRefusedAtItsValue) {
  LoadResult result = load_before_http({
      "[listeners.web.http2]",              // 1
      "max_concurrent_streams = 0",         // 2
      "initial_window = \"16383\"",         // 3
      "max_resets_per_second = 0",          // 4
      "max_control_frames_per_second = 0",  // 5
      "max_empty_frames_per_second = -1",   // 6
  });
  EXPECT_FALSE(result.config);
  EXPECT_EQ(printed(result),
            expected("test.toml:2:26: 'max_concurrent_streams' must be from 1 to 1000, not 0",
                     "test.toml:3:18: 'initial_window' must be at least 16 KiB, not \"16383\"",
                     "test.toml:4:25: 'max_resets_per_second' must be from 1 to 100000, not 0",
                     "test.toml:5:33: 'max_control_frames_per_second' must be from 1 to 100000, "
                     "not 0",
                     "test.toml:6:31: 'max_empty_frames_per_second' must be from 1 to 100000, "
                     "not -1"));
}

TEST(Http2, AboveEachBoundIsRefusedAtItsValue) {
  LoadResult result = load_before_http({
      "[listeners.web.http2]",                   // 1
      "max_concurrent_streams = 1001",           // 2
      "initial_window = \"32MiB\"",              // 3
      "max_resets_per_second = 100001",          // 4
      "max_control_frames_per_second = 100001",  // 5
      "max_empty_frames_per_second = 100001",    // 6
  });
  EXPECT_FALSE(result.config);
  EXPECT_EQ(printed(result),
            expected("test.toml:2:26: 'max_concurrent_streams' must be from 1 to 1000, not 1001",
                     "test.toml:3:18: 'initial_window' must be at most 16 MiB, not \"32MiB\"",
                     "test.toml:4:25: 'max_resets_per_second' must be from 1 to 100000, not "
                     "100001",
                     "test.toml:5:33: 'max_control_frames_per_second' must be from 1 to 100000, "
                     "not 100001",
                     "test.toml:6:31: 'max_empty_frames_per_second' must be from 1 to 100000, "
                     "not 100001"));
}

TEST(Http2, WrongTypesAndUnknownKeysAreRefused) {
  LoadResult result = load_before_http({
      "[listeners.web.http2]",         // 1
      "enabled = \"yes\"",             // 2
      "initial_window = \"64KB\"",     // 3
      "max_concurent_streams = 10",    // 4
      "max_concurrent_streams = 1.5",  // 5
  });
  EXPECT_EQ(
      printed(result),
      expected(
          "test.toml:2:11: 'enabled' must be a boolean (true or false), not a string",
          "test.toml:3:18: 'initial_window' must be a size like \"512\", \"16KiB\" or "
          "\"1MiB\" (units B, KiB, MiB, GiB), not \"64KB\"",
          "test.toml:4:1: unknown key 'max_concurent_streams' in [listeners.web.http2]; did you "
          "mean 'max_concurrent_streams'?",
          "test.toml:5:26: 'max_concurrent_streams' must be an integer, not a float"));
}

TEST(Http2, TheTableOnATcpListenerIsRefused) {
  LoadResult result = load({
      "[listeners.l4]",                                 // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "protocol = \"tcp\"",                             // 3
      "pool = \"app\"",                                 // 4
      "[listeners.l4.http2]",                           // 5
      "enabled = false",                                // 6
      "[pools.app]",                                    // 7
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 8
  });
  EXPECT_FALSE(result.config);
  EXPECT_EQ(printed(result),
            expected("test.toml:5:1: http2 needs HTTP, but listener 'l4' has protocol = \"tcp\"; "
                     "remove [listeners.l4.http2] or use protocol = \"http\""));
}

// ---- The ALPN list of a TLS listener ----------------------------------------------------------

// A matching certificate and key (site.pem, site.key) next to the file, so a TLS listener loads.
class Http2Alpn : public TlsDirectory {
 protected:
  void SetUp() override {
    TlsDirectory::SetUp();
    write_site_pair();
  }
};

constexpr std::string_view kCertificates =
    "certificates = [{ cert = \"site.pem\", key = \"site.key\" }]";

TEST_F(Http2Alpn, AnHttpListenerOffersH2FirstUnlessTheFileWritesAlpn) {
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      kCertificates,
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  EXPECT_EQ(printed_relative(result), expected());
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->listeners[0].tls->alpn, (std::vector<std::string>{"h2", "http/1.1"}));
}

TEST_F(Http2Alpn, WithHttp2OffOrOnATcpListenerOnlyHttp11IsOffered) {
  LoadResult off = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      kCertificates,
      "[listeners.web.http2]",
      "enabled = false",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  EXPECT_EQ(printed_relative(off), expected());
  ASSERT_TRUE(off.config);
  EXPECT_EQ(off.config->listeners[0].tls->alpn, std::vector<std::string>{"http/1.1"});
  LoadResult tcp = load_file({
      "[listeners.l4]",
      "bind = \"127.0.0.1:8443\"",
      "protocol = \"tcp\"",
      "pool = \"app\"",
      "[listeners.l4.tls]",
      kCertificates,
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  EXPECT_EQ(printed_relative(tcp), expected());
  ASSERT_TRUE(tcp.config);
  EXPECT_EQ(tcp.config->listeners[0].tls->alpn, std::vector<std::string>{"http/1.1"});
}

TEST_F(Http2Alpn, AWrittenListIsKeptAsWritten) {
  LoadResult result = load_file({
      "[listeners.web]",
      "bind = \"127.0.0.1:8443\"",
      "pool = \"app\"",
      "[listeners.web.tls]",
      kCertificates,
      "alpn = [\"http/1.1\", \"h2\"]",
      "[pools.app]",
      "backends = [{ address = \"127.0.0.1:9001\" }]",
  });
  EXPECT_EQ(printed_relative(result), expected());
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->listeners[0].tls->alpn, (std::vector<std::string>{"http/1.1", "h2"}));
}

TEST_F(Http2Alpn, H2WrittenWhileHttp2IsOffIsAnError) {
  LoadResult result = load_file({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8443\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[listeners.web.tls]",                            // 4
      kCertificates,                                    // 5
      "alpn = [\"h2\", \"http/1.1\"]",                  // 6
      "[listeners.web.http2]",                          // 7
      "enabled = false",                                // 8
      "[pools.app]",                                    // 9
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 10
  });
  EXPECT_FALSE(result.config);
  EXPECT_EQ(printed_relative(result),
            expected("DIR/ringlb.toml:6:8: 'alpn' offers \"h2\", but [listeners.web.http2] has "
                     "enabled = false; remove \"h2\" or enable HTTP/2"));
}

TEST_F(Http2Alpn, H2LeftOutWhileHttp2IsOnIsAWarning) {
  LoadResult result = load_file({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8443\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[listeners.web.tls]",                            // 4
      kCertificates,                                    // 5
      "alpn = [\"http/1.1\"]",                          // 6
      "[pools.app]",                                    // 7
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 8
  });
  EXPECT_EQ(printed_relative(result),
            expected("DIR/ringlb.toml:6:8: warning: h2 is not offered by ALPN: 'alpn' has no "
                     "\"h2\" while [listeners.web.http2] is enabled, so TLS clients get HTTP/1.1; "
                     "add \"h2\" first, or set enabled = false"));
  ASSERT_TRUE(result.config);
  EXPECT_EQ(result.config->listeners[0].tls->alpn, std::vector<std::string>{"http/1.1"});
}

}  // namespace
}  // namespace ringlb::config
