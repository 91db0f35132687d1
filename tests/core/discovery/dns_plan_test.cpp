// Tests for core/discovery/dns_plan: the questions a [dns] table asks, and its resolvers.
#include "core/discovery/dns_plan.hpp"

#include <gtest/gtest.h>

#include "core/discovery/dns_message.hpp"

namespace ringlb::discovery {
namespace {

TEST(DnsPlan, ANameAsksForAAndAaaa) {
  config::DnsDiscoveryConfig dns;
  dns.name = "app.example";
  dns.port = 8080;
  EXPECT_EQ(first_questions(dns),
            (std::vector<DnsQuestion>{{"app.example", kDnsTypeA}, {"app.example", kDnsTypeAaaa}}));
  EXPECT_EQ(describe(dns), "app.example:8080");
}

TEST(DnsPlan, SrvAsksForSrv) {
  config::DnsDiscoveryConfig dns;
  dns.srv = "_http._tcp.app";
  EXPECT_EQ(first_questions(dns), (std::vector<DnsQuestion>{{"_http._tcp.app", kDnsTypeSrv}}));
  EXPECT_EQ(describe(dns), "SRV _http._tcp.app");
}

TEST(DnsPlan, ResolversAsCaresReadsThem) {
  config::DnsDiscoveryConfig dns;
  EXPECT_EQ(resolver_list(dns), "");
  dns.resolvers = {{"127.0.0.1", 8600, false}, {"::1", 53, true}};
  EXPECT_EQ(resolver_list(dns), "127.0.0.1:8600,[::1]:53");
}

}  // namespace
}  // namespace ringlb::discovery
