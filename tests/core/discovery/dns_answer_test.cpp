// Tests for core/discovery/dns_answer: how A/AAAA and SRV records become backends.
#include "core/discovery/dns_answer.hpp"

#include <gtest/gtest.h>

namespace ringlb::discovery {
namespace {

DnsRecord a(const std::string& owner, const std::string& address, uint32_t ttl = 30) {
  DnsRecord record;
  record.owner = owner;
  record.type = address.find(':') == std::string::npos ? kDnsTypeA : kDnsTypeAaaa;
  record.address = address;
  record.ttl = ttl;
  return record;
}

DnsRecord srv(uint16_t priority, uint16_t weight, uint16_t port, const std::string& target,
              uint32_t ttl = 30) {
  DnsRecord record;
  record.owner = "_http._tcp.app";
  record.type = kDnsTypeSrv;
  record.priority = priority;
  record.weight = weight;
  record.port = port;
  record.target = target;
  record.ttl = ttl;
  return record;
}

std::vector<std::string> addresses(const DnsBackends& found) {
  std::vector<std::string> out;
  for (const DnsBackend& backend : found.backends) {
    out.push_back(backend.address.to_string() + "*" + std::to_string(backend.weight));
  }
  return out;
}

TEST(DnsAnswer, AddressesTakeThePortAndTheSmallestTtl) {
  DnsBackends found = backends_from_addresses({a("app", "10.0.0.2", 30), a("app", "fd00::1", 9),
                                               a("app", "10.0.0.1", 60), a("app", "10.0.0.1", 60)},
                                              8080);
  EXPECT_EQ(addresses(found),
            (std::vector<std::string>{"10.0.0.1:8080*1", "10.0.0.2:8080*1", "[fd00::1]:8080*1"}));
  EXPECT_EQ(found.ttl, std::chrono::seconds(9));
}

TEST(DnsAnswer, AnEmptyAnswerHasNoBackendsAndNoTtl) {
  DnsBackends found = backends_from_addresses({}, 8080);
  EXPECT_TRUE(found.backends.empty());
  EXPECT_FALSE(found.ttl);
}

TEST(DnsAnswer, WildcardAddressesAreLeftOut) {
  DnsBackends found = backends_from_addresses({a("app", "0.0.0.0"), a("app", "::")}, 80);
  EXPECT_TRUE(found.backends.empty());
  EXPECT_EQ(found.dropped, 2u);
}

TEST(DnsAnswer, SrvGivesPortsAndWeightsOfTheLowestPriority) {
  const std::vector<DnsRecord> answers = {srv(10, 5, 8001, "b1.app"), srv(10, 1, 8002, "b2.app"),
                                          srv(20, 100, 8003, "backup.app")};
  const std::vector<DnsRecord> kept = preferred_srv(answers);
  ASSERT_EQ(kept.size(), 2u);
  DnsBackends found = backends_from_srv(
      kept, {a("b1.app", "10.0.0.1", 20), a("b2.app", "10.0.0.2"), a("backup.app", "10.0.0.3")});
  EXPECT_EQ(addresses(found), (std::vector<std::string>{"10.0.0.1:8001*5", "10.0.0.2:8002*1"}));
  EXPECT_EQ(found.ttl, std::chrono::seconds(20));
}

TEST(DnsAnswer, SrvWeightsAreClampedToRinglbsRange) {
  DnsBackends found = backends_from_srv({srv(0, 0, 80, "a.app"), srv(0, 65535, 80, "b.app")},
                                        {a("a.app", "10.0.0.1"), a("b.app", "10.0.0.2")});
  EXPECT_EQ(addresses(found), (std::vector<std::string>{"10.0.0.1:80*1", "10.0.0.2:80*1000"}));
}

TEST(DnsAnswer, TwoSrvRecordsForOneAddressAddTheirWeights) {
  DnsBackends found = backends_from_srv(
      {srv(0, 3, 80, "a.app"), srv(0, 4, 80, "alias.app")},
      {a("a.app", "10.0.0.1"), a("alias.app", "10.0.0.1"), a("a.app", "10.0.0.1")});
  EXPECT_EQ(addresses(found), (std::vector<std::string>{"10.0.0.1:80*7"}));
}

TEST(DnsAnswer, TargetsWithoutAnAddressAreAskedFor) {
  const std::vector<DnsRecord> records = {srv(0, 1, 80, "a.app"), srv(0, 1, 81, "b.app"),
                                          srv(0, 1, 82, "b.app")};
  EXPECT_EQ(unresolved_targets(records, {a("a.app", "10.0.0.1")}),
            (std::vector<std::string>{"b.app"}));
}

TEST(DnsAnswer, ASrvTargetOfDotMeansNoService) {
  EXPECT_TRUE(preferred_srv({srv(0, 1, 0, "")}).empty());
}

TEST(DnsAnswer, OverTheCapTheSortedFirstAreKept) {
  std::vector<DnsRecord> records;
  for (size_t i = 0; i < kMaxDnsBackends + 10; ++i) {
    records.push_back(a("app", "10." + std::to_string(i / 65536) + "." +
                                   std::to_string(i / 256 % 256) + "." + std::to_string(i % 256)));
  }
  DnsBackends found = backends_from_addresses(records, 80);
  EXPECT_EQ(found.backends.size(), kMaxDnsBackends);
  EXPECT_EQ(found.dropped, 10u);
}

TEST(DnsAnswer, BackendConfigsPointAtTheDnsTable) {
  config::DnsDiscoveryConfig dns;
  dns.position = {12, 3};
  auto configs = backend_configs({{config::Address{"10.0.0.1", 80, false}, 4}}, dns);
  ASSERT_EQ(configs.size(), 1u);
  EXPECT_EQ(configs[0].weight, 4u);
  EXPECT_EQ(configs[0].position.line, 12u);
}

}  // namespace
}  // namespace ringlb::discovery
