// Tests for core/discovery/dns_message: the records discovery reads, and every malformed reply
// refused without reading outside the message.
#include "core/discovery/dns_message.hpp"

#include <gtest/gtest.h>

#include <random>

#include "tests/core/discovery/dns_wire.hpp"

namespace ringlb::discovery {
namespace {

using testing::Wire;

TEST(DnsMessage, ReadsAAndAaaaAnswersWithTheirTtl) {
  Wire wire;
  wire.header(0x8580, 1, 2, 0).question("App.Example", kDnsTypeA);
  wire.a("App.Example", 30, 10, 0, 0, 1);
  wire.name("app.example").fixed(kDnsTypeAaaa, 7, 16);
  for (int i = 0; i < 15; ++i) wire.u8(0);
  wire.u8(1);
  std::string error;
  auto message = parse_dns_message(wire.bytes, error);
  ASSERT_TRUE(message) << error;
  EXPECT_EQ(message->rcode, kDnsRcodeNoError);
  ASSERT_EQ(message->answers.size(), 2u);
  EXPECT_EQ(message->answers[0].owner, "app.example");
  EXPECT_EQ(message->answers[0].address, "10.0.0.1");
  EXPECT_EQ(message->answers[0].ttl, 30u);
  EXPECT_EQ(message->answers[1].address, "::1");
  EXPECT_EQ(message->answers[1].ttl, 7u);
}

TEST(DnsMessage, ReadsSrvWithCompressedNamesAndTheAdditionalSection) {
  Wire wire;
  wire.header(0x8580, 1, 1, 1);
  const uint16_t question_name = static_cast<uint16_t>(wire.bytes.size());
  wire.question("_http._tcp.app", kDnsTypeSrv);
  wire.pointer(question_name).fixed(kDnsTypeSrv, 60, 6 + 5).u16(1).u16(20).u16(8080);
  const uint16_t target = static_cast<uint16_t>(wire.bytes.size());
  wire.u8(2).u8('b').u8('1').pointer(question_name + 11);  // "b1" + "app"
  wire.pointer(target).fixed(kDnsTypeA, 5, 4).u8(10).u8(0).u8(0).u8(7);
  std::string error;
  auto message = parse_dns_message(wire.bytes, error);
  ASSERT_TRUE(message) << error;
  ASSERT_EQ(message->answers.size(), 1u);
  const DnsRecord& srv = message->answers[0];
  EXPECT_EQ(srv.owner, "_http._tcp.app");
  EXPECT_EQ(srv.priority, 1);
  EXPECT_EQ(srv.weight, 20);
  EXPECT_EQ(srv.port, 8080);
  EXPECT_EQ(srv.target, "b1.app");
  ASSERT_EQ(message->additionals.size(), 1u);
  EXPECT_EQ(message->additionals[0].owner, "b1.app");
  EXPECT_EQ(message->additionals[0].address, "10.0.0.7");
}

TEST(DnsMessage, RcodeAndTruncationAreReported) {
  Wire wire;
  wire.header(0x8383, 1, 0, 0).question("gone.example", kDnsTypeA);
  std::string error;
  auto message = parse_dns_message(wire.bytes, error);
  ASSERT_TRUE(message) << error;
  EXPECT_EQ(message->rcode, kDnsRcodeNxDomain);
  EXPECT_TRUE(message->truncated);
}

TEST(DnsMessage, ATtlWithTheTopBitSetIsCapped) {
  Wire wire;
  wire.header(0x8580, 0, 1, 0).a("a", 0x80000000u, 10, 0, 0, 1);
  std::string error;
  auto message = parse_dns_message(wire.bytes, error);
  ASSERT_TRUE(message) << error;
  EXPECT_EQ(message->answers[0].ttl, 0x7FFFFFFFu);
}

TEST(DnsMessage, MalformedRepliesAreRefused) {
  std::string error;
  EXPECT_FALSE(parse_dns_message(std::vector<uint8_t>{1, 2, 3}, error));
  Wire loop;  // a name pointing at itself
  loop.header(0x8580, 0, 1, 0).pointer(12).fixed(kDnsTypeA, 1, 4).u32(0);
  EXPECT_FALSE(parse_dns_message(loop.bytes, error));
  Wire short_a;  // an A record of 5 bytes
  short_a.header(0x8580, 0, 1, 0).name("a").fixed(kDnsTypeA, 1, 5).u32(0).u8(0);
  EXPECT_FALSE(parse_dns_message(short_a.bytes, error));
  EXPECT_EQ(error, "a record's data does not fit its type 1");
  Wire past_end;  // rdlength beyond the message
  past_end.header(0x8580, 0, 1, 0).name("a").fixed(kDnsTypeA, 1, 400).u32(0);
  EXPECT_FALSE(parse_dns_message(past_end.bytes, error));
  Wire more_than_sent;  // says 3 answers, carries 1
  more_than_sent.header(0x8580, 0, 3, 0).a("a", 1, 10, 0, 0, 1);
  EXPECT_FALSE(parse_dns_message(more_than_sent.bytes, error));
  Wire srv_target_outside;  // an SRV whose target runs past its rdata
  srv_target_outside.header(0x8580, 0, 1, 0).name("s").fixed(kDnsTypeSrv, 1, 7);
  srv_target_outside.u16(0).u16(0).u16(80).u8(1).u8('x').u8(0);
  EXPECT_FALSE(parse_dns_message(srv_target_outside.bytes, error));
}

// Random bytes, and every prefix of a valid message: refused or read, never a crash (ASan builds
// check the reads).
TEST(DnsMessage, GarbageAndEveryTruncationAreSafe) {
  Wire wire;
  wire.header(0x8580, 1, 1, 1).question("_http._tcp.app", kDnsTypeSrv);
  wire.srv("_http._tcp.app", 60, 0, 1, 80, "b.app").a("b.app", 60, 10, 0, 0, 1);
  std::string error;
  ASSERT_TRUE(parse_dns_message(wire.bytes, error)) << error;
  for (size_t size = 0; size < wire.bytes.size(); ++size) {
    std::vector<uint8_t> prefix(wire.bytes.begin(), wire.bytes.begin() + size);
    EXPECT_FALSE(parse_dns_message(prefix, error)) << "a prefix of " << size << " bytes";
  }
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> bytes(random() % 300);
    for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(random());
    (void)parse_dns_message(bytes, error);
  }
}

}  // namespace
}  // namespace ringlb::discovery
