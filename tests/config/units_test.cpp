// Tests for config/units: the duration, size and address syntaxes users write in the file.
#include "config/units.hpp"

#include <gtest/gtest.h>

namespace ringlb::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, AcceptsEachUnit) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("2s"), seconds(2));
  EXPECT_EQ(parse_duration("1m"), minutes(1));
  EXPECT_EQ(parse_duration("1h"), hours(1));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
}

TEST(ParseDuration, AddsConcatenatedParts) {
  EXPECT_EQ(parse_duration("1m30s"), seconds(90));
  EXPECT_EQ(parse_duration("1h2m3s4ms"), hours(1) + minutes(2) + seconds(3) + milliseconds(4));
  EXPECT_EQ(parse_duration("1s500ms"), milliseconds(1500));
}

TEST(ParseDuration, RejectsWhatCouldBeMisread) {
  for (const char* text : {"", "10", "-1s", "+1s", "1.5s", "1 s", " 1s", "1s ", "s", "1sec", "1d",
                           "1S", "30s1m", "1s1s", "1m1h", "ms"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << text;
  }
}

TEST(ParseDuration, RejectsOverflow) {
  EXPECT_EQ(parse_duration("99999999999999999999s"), std::nullopt);
  EXPECT_EQ(parse_duration("9223372036854775807h"), std::nullopt);
  EXPECT_EQ(parse_duration("9223372036854775807ms"), Duration::max());
  EXPECT_EQ(parse_duration("9223372036854775807ms1ms"), std::nullopt);
}

TEST(ParseSize, AcceptsBytesAndBinaryUnits) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("100B"), 100u);
  EXPECT_EQ(parse_size("16KiB"), 16u * 1024);
  EXPECT_EQ(parse_size("1MiB"), 1024u * 1024);
  EXPECT_EQ(parse_size("2GiB"), 2ull << 30);
}

TEST(ParseSize, RejectsDecimalUnitsAndJunk) {
  for (const char* text : {"", "KiB", "16KB", "1MB", "1GB", "16kib", "16 KiB", "-1", "1.5MiB",
                           "16KiBB", "0x10", "1TiB", " 1"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << text;
  }
}

TEST(ParseSize, RejectsOverflow) {
  EXPECT_EQ(parse_size("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_size("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_size("17179869184GiB"), std::nullopt);
}

TEST(ParseAddress, AcceptsIpv4AndBracketedIpv6) {
  std::optional<Address> v4 = parse_address("127.0.0.1:8080", nullptr);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8080);
  EXPECT_FALSE(v4->ipv6);
  EXPECT_EQ(v4->to_string(), "127.0.0.1:8080");

  std::optional<Address> v6 = parse_address("[::1]:443", nullptr);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 443);
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->to_string(), "[::1]:443");
}

TEST(ParseAddress, StoresTheCanonicalHostSoEqualAddressesCompareEqual) {
  EXPECT_EQ(parse_address("[0:0::1]:80", nullptr), parse_address("[::1]:80", nullptr));
  EXPECT_EQ(parse_address("[2001:DB8::1]:80", nullptr)->host, "2001:db8::1");
}

TEST(ParseAddress, AcceptsThePortRangeEnds) {
  EXPECT_EQ(parse_address("0.0.0.0:1", nullptr)->port, 1);
  EXPECT_EQ(parse_address("0.0.0.0:65535", nullptr)->port, 65535);
}

std::string why_rejected(std::string_view text) {
  std::string why;
  EXPECT_EQ(parse_address(text, &why), std::nullopt) << text;
  return why;
}

TEST(ParseAddress, SaysWhyItRefuses) {
  EXPECT_EQ(why_rejected("localhost:80"), "hostnames are not resolved; use an IP address");
  EXPECT_EQ(why_rejected("example.com:443"), "hostnames are not resolved; use an IP address");
  EXPECT_EQ(why_rejected("127.0.0.1"),
            "missing ':PORT'; expected HOST:PORT, like \"127.0.0.1:8080\"");
  EXPECT_EQ(why_rejected("::1:80"), "an IPv6 address must be in brackets, like \"[::1]:8080\"");
  EXPECT_EQ(why_rejected(":80"), "missing host; use 0.0.0.0 (or [::]) to listen on every address");
  EXPECT_EQ(why_rejected("256.0.0.1:80"), "'256.0.0.1' is not a valid IPv4 address");
  EXPECT_EQ(why_rejected("[::g]:80"), "'::g' is not a valid IPv6 address");
  EXPECT_EQ(why_rejected("[::1]80"), "missing ':PORT' after the IPv6 address, like \"[::1]:8080\"");
  EXPECT_EQ(why_rejected("[::1:80"), "missing ']' after the IPv6 address");
  EXPECT_EQ(why_rejected(""), "the address is empty; expected HOST:PORT");
}

TEST(ParseAddress, RefusesPortsOutsideOneTo65535) {
  for (const char* text : {"1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:", "1.2.3.4:-1", "1.2.3.4:+80",
                           "1.2.3.4:http", "1.2.3.4:80 ", "[::1]:99999"}) {
    EXPECT_EQ(why_rejected(text), "the port must be a number from 1 to 65535") << text;
  }
}

TEST(IsWildcard, KnowsBothFamilies) {
  EXPECT_TRUE(is_wildcard(*parse_address("0.0.0.0:80", nullptr)));
  EXPECT_TRUE(is_wildcard(*parse_address("[::]:80", nullptr)));
  EXPECT_FALSE(is_wildcard(*parse_address("127.0.0.1:80", nullptr)));
}

TEST(HashKeyProblem, AcceptsTheFourForms) {
  for (const char* key : {"client_ip", "uri", "header:X-User-Id", "cookie:session"}) {
    EXPECT_EQ(hash_key_problem(key), "") << key;
  }
}

TEST(HashKeyProblem, ExplainsAndSuggests) {
  EXPECT_EQ(hash_key_problem("header:"),
            "'hash_key' needs a header name after 'header:', like \"header:X-User-Id\"");
  EXPECT_EQ(hash_key_problem("cookie:a b"),
            "'hash_key': \"a b\" is not a valid cookie name (letters, digits and "
            "!#$%&'*+-.^_`|~ only)");
  EXPECT_EQ(hash_key_problem("headr:X-User"),
            "'hash_key' must be client_ip, uri, header:NAME or cookie:NAME, not \"headr:X-User\"; "
            "did you mean \"header:X-User\"?");
  EXPECT_EQ(hash_key_problem("clientip"),
            "'hash_key' must be client_ip, uri, header:NAME or cookie:NAME, not \"clientip\"; "
            "did you mean \"client_ip\"?");
  EXPECT_EQ(hash_key_problem("path"),
            "'hash_key' must be client_ip, uri, header:NAME or cookie:NAME, not \"path\"");
}

TEST(IsValidExpectStatus, AcceptsCodesRangesAndLists) {
  for (const char* text : {"200", "200-399", "200-299,302", "200-299, 302", "100-599", "404"}) {
    EXPECT_TRUE(is_valid_expect_status(text)) << text;
  }
}

TEST(IsValidExpectStatus, RejectsOutOfRangeAndMalformed) {
  for (const char* text : {"", "99", "600", "2000", "399-200", "200-", "-200", "200,,302",
                           "200;302", "2xx", "200-299,"}) {
    EXPECT_FALSE(is_valid_expect_status(text)) << text;
  }
}

TEST(IsValidRouteHost, AllowsOnlyALeadingWildcard) {
  EXPECT_TRUE(is_valid_route_host("api.example.com"));
  EXPECT_TRUE(is_valid_route_host("*.example.com"));
  EXPECT_TRUE(is_valid_route_host(""));
  EXPECT_FALSE(is_valid_route_host("*"));
  EXPECT_FALSE(is_valid_route_host("*."));
  EXPECT_FALSE(is_valid_route_host("api.*.com"));
  EXPECT_FALSE(is_valid_route_host("*example.com"));
  EXPECT_FALSE(is_valid_route_host("*.*.example.com"));
}

}  // namespace
}  // namespace ringlb::config
