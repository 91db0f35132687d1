// Tests for config/load_dns.cpp: [pools.NAME.dns], its defaults and every refusal with its
// line:col (--check and the server load through the same code).
#include <gtest/gtest.h>

#include <string>

#include "config/loader.hpp"
#include "tests/config/load_helpers.hpp"

namespace ringlb::config {
namespace {

using std::chrono::seconds;

// A pool fed by DNS only, then its [dns] table (from line 6).
LoadResult load_dns(std::initializer_list<std::string_view> dns_lines) {
  std::string text = join({
                         "[listeners.web]",            // 1
                         "bind = \"127.0.0.1:8080\"",  // 2
                         "pool = \"app\"",             // 3
                         "[pools.app]",                // 4
                         "[pools.app.dns]",            // 5
                     }) +
                     join(dns_lines);
  return load_config_text(text, "test.toml", known_balancers());
}

TEST(LoaderDns, NameWithPortAndDefaults) {
  LoadResult result = load_dns({"name = \"app.service.consul\"", "port = 8080"});
  ASSERT_TRUE(result.config) << printed(result).front();
  const PoolConfig& pool = result.config->pools.front();
  ASSERT_TRUE(pool.dns);
  EXPECT_TRUE(pool.backends.empty());  // a DNS pool may start with none
  EXPECT_EQ(pool.dns->name, "app.service.consul");
  EXPECT_EQ(pool.dns->port, 8080);
  EXPECT_EQ(pool.dns->refresh, seconds(5));
  EXPECT_EQ(pool.dns->timeout, seconds(2));
  EXPECT_TRUE(pool.dns->resolvers.empty());  // /etc/resolv.conf
}

TEST(LoaderDns, SrvWithResolvers) {
  LoadResult result =
      load_dns({"srv = \"_http._tcp.app.example.\"", "refresh = \"10s\"", "timeout = \"500ms\"",
                "resolvers = [\"127.0.0.1:8600\", \"[::1]:53\"]"});
  ASSERT_TRUE(result.config) << printed(result).front();
  const DnsDiscoveryConfig& dns = *result.config->pools.front().dns;
  EXPECT_EQ(dns.srv, "_http._tcp.app.example.");
  EXPECT_EQ(dns.refresh, seconds(10));
  EXPECT_EQ(dns.timeout, std::chrono::milliseconds(500));
  ASSERT_EQ(dns.resolvers.size(), 2u);
  EXPECT_EQ(dns.resolvers[1].to_string(), "[::1]:53");
}

TEST(LoaderDns, NameAndSrvTogetherAreRefused) {
  LoadResult result = load_dns({"name = \"a.example\"", "srv = \"_http._tcp.a.example\""});
  EXPECT_EQ(printed(result),
            expected("test.toml:6:8: 'name' needs a 'port': A/AAAA records carry none",
                     "test.toml:7:7: give either 'name' (A/AAAA, with 'port') or 'srv' (ports "
                     "and weights from SRV), not both"));
}

TEST(LoaderDns, NeitherNameNorSrvIsRefused) {
  LoadResult result = load_dns({"refresh = \"5s\""});
  EXPECT_EQ(printed(result),
            expected("test.toml:5:1: [dns] needs 'name' (with 'port') or 'srv' (like "
                     "\"_http._tcp.app.example\")"));
}

TEST(LoaderDns, PortBelongsToNameOnly) {
  LoadResult result = load_dns({"srv = \"_http._tcp.a.example\"", "port = 80"});
  EXPECT_EQ(printed(result),
            expected("test.toml:7:8: 'port' does not apply with 'srv': SRV records carry it"));
}

TEST(LoaderDns, BadNamesAreRefused) {
  LoadResult result = load_dns({"name = \"a..example\"", "port = 80"});
  EXPECT_EQ(printed(result),
            expected("test.toml:6:8: 'name' has an empty label (\"..\" or a leading dot)"));
  result = load_dns({"name = \"a b.example\"", "port = 80"});
  EXPECT_EQ(printed(result), expected("test.toml:6:8: 'name' holds ' '; a DNS name has letters, "
                                      "digits, - and _"));
  result = load_dns({"srv = \"app.example\""});
  EXPECT_EQ(printed(result),
            expected("test.toml:6:7: 'srv' names an SRV record like \"_http._tcp.app.example\"; "
                     "for A/AAAA records use 'name' and 'port'"));
  result = load_dns({"name = \"" + std::string(64, 'a') + ".example\"", "port = 80"});
  EXPECT_EQ(printed(result),
            expected("test.toml:6:8: 'name' has a label longer than 63 characters"));
}

TEST(LoaderDns, BadResolversAndRefreshAreRefused) {
  LoadResult result = load_dns({"name = \"a.example\"", "port = 80",
                                "resolvers = [\"dns.example:53\"]", "refresh = \"500ms\""});
  ASSERT_EQ(printed(result).size(), 2u);
  EXPECT_NE(printed(result)[0].find("test.toml:8:13: resolver \"dns.example:53\" must be "
                                    "\"IP:PORT\""),
            std::string::npos)
      << printed(result)[0];
  EXPECT_EQ(printed(result)[1], "test.toml:9:11: 'refresh' must be at least 1s");
  result = load_dns({"name = \"a.example\"", "port = 80", "resolvers = []"});
  EXPECT_EQ(printed(result),
            expected("test.toml:8:13: 'resolvers' is empty; leave it out to use /etc/resolv.conf"));
}

TEST(LoaderDns, UnknownKeysAreReported) {
  LoadResult result = load_dns({"name = \"a.example\"", "port = 80", "refesh = \"5s\""});
  ASSERT_EQ(printed(result).size(), 1u);
  EXPECT_NE(printed(result)[0].find("test.toml:8:1:"), std::string::npos) << printed(result)[0];
  EXPECT_NE(printed(result)[0].find("refresh"), std::string::npos) << printed(result)[0];
}

TEST(LoaderDns, APoolWithoutDnsStillNeedsBackends) {
  LoadResult result = load_config_text(
      join({"[listeners.web]", "bind = \"127.0.0.1:8080\"", "pool = \"app\"", "[pools.app]"}),
      "test.toml", known_balancers());
  EXPECT_EQ(printed(result), expected("test.toml:4:1: pool 'app' has no 'backends'"));
}

}  // namespace
}  // namespace ringlb::config
