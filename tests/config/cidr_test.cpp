// CIDR ranges as proxy_protocol_from takes them: IPv4 ranges match IPv4 clients on IPv4 and
// dual-stack sockets alike; anything but an exact range is refused.
#include "config/cidr.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>

namespace ringlb::config {
namespace {

std::array<uint8_t, 4> v4(const char* text) {
  std::array<uint8_t, 4> out{};
  inet_pton(AF_INET, text, out.data());
  return out;
}

std::array<uint8_t, 16> v6(const char* text) {
  std::array<uint8_t, 16> out{};
  inet_pton(AF_INET6, text, out.data());
  return out;
}

TEST(Cidr, Ipv4RangeMatchesIpv4AndMappedClients) {
  const Cidr range = *parse_cidr("10.0.0.0/8");
  EXPECT_TRUE(contains(range, v4("10.1.2.3")));
  EXPECT_TRUE(contains(range, v6("::ffff:10.1.2.3")));
  EXPECT_FALSE(contains(range, v4("11.0.0.1")));
  EXPECT_FALSE(contains(range, v6("2001:db8::1")));
}

TEST(Cidr, PrefixesThatAreNotWholeBytes) {
  const Cidr range = *parse_cidr("192.168.4.0/22");
  EXPECT_TRUE(contains(range, v4("192.168.7.255")));
  EXPECT_FALSE(contains(range, v4("192.168.8.0")));
  EXPECT_FALSE(contains(range, v4("192.168.3.255")));
}

TEST(Cidr, Ipv6AndBareAddresses) {
  EXPECT_TRUE(contains(*parse_cidr("2001:db8::/32"), v6("2001:db8:1::5")));
  EXPECT_FALSE(contains(*parse_cidr("2001:db8::/32"), v6("2001:db9::5")));
  EXPECT_TRUE(contains(*parse_cidr("127.0.0.1"), v4("127.0.0.1")));
  EXPECT_FALSE(contains(*parse_cidr("127.0.0.1"), v4("127.0.0.2")));
  EXPECT_TRUE(contains(*parse_cidr("::/0"), v4("127.0.0.2")));
  EXPECT_TRUE(contains(*parse_cidr("0.0.0.0/0"), v4("8.8.8.8")));
  EXPECT_FALSE(contains(*parse_cidr("0.0.0.0/0"), v6("2001:db8::1")));
}

TEST(Cidr, RefusesWhatIsNotAnExactRange) {
  for (const char* text : {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "10.0.0/8",
                           "example.com", "", "2001:db8::/129", "10.0.0.0/8/8", "::1/-1"}) {
    EXPECT_FALSE(parse_cidr(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace ringlb::config
