// The PROXY protocol keys: proxy_protocol and proxy_protocol_from on listeners,
// send_proxy_protocol on pools, and what --check refuses with FILE:LINE:COL.
#include <gtest/gtest.h>

#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

TEST(LoaderProxyProtocol, ReadsTheListenerAndPoolKeys) {
  LoadResult result = load({
      "[listeners.web]",                                                           // 1
      "bind = \"127.0.0.1:8080\"",                                                 // 2
      "pool = \"app\"",                                                            // 3
      "proxy_protocol = true",                                                     // 4
      "proxy_protocol_from = [\"10.0.0.0/8\", \"2001:db8::/32\", \"127.0.0.1\"]",  // 5
      "[pools.app]",                                                               // 6
      "send_proxy_protocol = \"v2\"",                                              // 7
      "backends = [{ address = \"127.0.0.1:9001\" }]",                             // 8
  });
  EXPECT_EQ(printed(result), expected());
  ASSERT_TRUE(result.config);
  const ListenerConfig& listener = result.config->listeners[0];
  EXPECT_TRUE(listener.proxy_protocol);
  ASSERT_EQ(listener.proxy_protocol_from.size(), 3u);
  EXPECT_EQ(listener.proxy_protocol_from[0], *parse_cidr("10.0.0.0/8"));
  EXPECT_EQ(result.config->pools[0].send_proxy_protocol, ProxyProtocolSend::kV2);
}

TEST(LoaderProxyProtocol, OffByDefault) {
  LoadResult result = load_before_base({});
  ASSERT_TRUE(result.config);
  EXPECT_FALSE(result.config->listeners[0].proxy_protocol);
  EXPECT_EQ(result.config->pools[0].send_proxy_protocol, ProxyProtocolSend::kOff);
}

TEST(LoaderProxyProtocol, ABadCidrIsReportedWhereItIsWritten) {
  LoadResult result = load({
      "[listeners.web]",                                         // 1
      "bind = \"127.0.0.1:8080\"",                               // 2
      "pool = \"app\"",                                          // 3
      "proxy_protocol = true",                                   // 4
      "proxy_protocol_from = [\"10.0.0.0/8\", \"10.0.0.1/8\"]",  // 5
      "[pools.app]",                                             // 6
      "backends = [{ address = \"127.0.0.1:9001\" }]",           // 7
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:5:38: 'proxy_protocol_from' takes addresses or CIDRs like "
                     "\"10.0.0.0/8\" or \"2001:db8::/32\", not \"10.0.0.1/8\" (a prefix out of "
                     "range, or bits set past it)"));
}

TEST(LoaderProxyProtocol, FromWithoutProxyProtocolIsRefused) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "proxy_protocol_from = [\"10.0.0.0/8\"]",         // 4
      "[pools.app]",                                    // 5
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 6
  });
  EXPECT_EQ(printed(result),
            expected("test.toml:4:23: 'proxy_protocol_from' needs proxy_protocol = true on "
                     "listener 'web'; add it, or remove 'proxy_protocol_from'"));
}

TEST(LoaderProxyProtocol, ProxyProtocolNeedsTrustedSources) {
  LoadResult missing = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "proxy_protocol = true",                          // 4
      "[pools.app]",                                    // 5
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 6
  });
  EXPECT_EQ(printed(missing),
            expected("test.toml:4:18: proxy_protocol = true needs 'proxy_protocol_from', the "
                     "sources trusted to send the header, like [\"10.0.0.0/8\"] (or "
                     "[\"0.0.0.0/0\", \"::/0\"] to trust any)"));
  LoadResult empty = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "proxy_protocol = true",                          // 4
      "proxy_protocol_from = []",                       // 5
      "[pools.app]",                                    // 6
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 7
  });
  EXPECT_EQ(printed(empty),
            expected("test.toml:5:23: 'proxy_protocol_from' is empty: every connection would be "
                     "refused; name the sources trusted to send the header, like "
                     "[\"10.0.0.0/8\"]"));
}

TEST(LoaderProxyProtocol, UnknownSendVersionIsRefused) {
  LoadResult result = load({
      "[listeners.web]",                                // 1
      "bind = \"127.0.0.1:8080\"",                      // 2
      "pool = \"app\"",                                 // 3
      "[pools.app]",                                    // 4
      "send_proxy_protocol = \"v3\"",                   // 5
      "backends = [{ address = \"127.0.0.1:9001\" }]",  // 6
  });
  ASSERT_EQ(printed(result).size(), 1u);
  EXPECT_TRUE(printed(result)[0].starts_with("test.toml:5:23: ")) << printed(result)[0];
  EXPECT_NE(printed(result)[0].find("\"v3\""), std::string::npos) << printed(result)[0];
}

}  // namespace
}  // namespace ringlb::config
