// Hash keys: the four forms, extraction from a request view, and that a value typed into
// `ringlb explain` hashes like the same value inside a request.
#include "balancers/hash_key.hpp"

#include <gtest/gtest.h>
#include <strings.h>

#include <array>
#include <utility>
#include <vector>

namespace ringlb::balancers {
namespace {

// A request as a session would show it: headers matched case-insensitively, in order.
class FakeRequest : public RequestView {
 public:
  std::vector<uint8_t> ip = {192, 0, 2, 7};
  std::string path = "/cart?id=3";
  std::vector<std::pair<std::string, std::string>> headers;

  std::span<const uint8_t> client_ip() const override { return ip; }
  std::string_view target() const override { return path; }
  std::optional<std::string_view> header(std::string_view name, size_t nth) const override {
    for (const auto& [field, value] : headers) {
      if (field.size() != name.size()) continue;
      if (strncasecmp(field.data(), name.data(), name.size()) != 0) continue;
      if (nth-- == 0) return value;
    }
    return std::nullopt;
  }
};

HashKeySpec spec(std::string_view text) { return parse_hash_key(text).value(); }

TEST(ParseHashKey, ReadsTheFourForms) {
  EXPECT_EQ(spec("client_ip"), (HashKeySpec{HashKeyKind::kClientIp, ""}));
  EXPECT_EQ(spec("uri"), (HashKeySpec{HashKeyKind::kUri, ""}));
  EXPECT_EQ(spec("header:X-User-Id"), (HashKeySpec{HashKeyKind::kHeader, "X-User-Id"}));
  EXPECT_EQ(spec("cookie:session"), (HashKeySpec{HashKeyKind::kCookie, "session"}));
  for (const char* text : {"client_ip", "uri", "header:X-User-Id", "cookie:session"}) {
    EXPECT_EQ(spec(text).to_string(), text);
  }
}

TEST(ParseHashKey, RefusesAnythingElse) {
  for (const char* text : {"", "ip", "header:", "cookie:", "header", "Header:X", "url"}) {
    EXPECT_FALSE(parse_hash_key(text)) << text;
  }
}

TEST(ParseHashKey, OnlyClientIpWorksWithoutHttp) {
  EXPECT_FALSE(spec("client_ip").needs_http());
  EXPECT_TRUE(spec("uri").needs_http());
  EXPECT_TRUE(spec("header:X").needs_http());
  EXPECT_TRUE(spec("cookie:s").needs_http());
}

TEST(RequestKeyHash, ClientIpHashesTheAddressBytes) {
  FakeRequest request;
  const std::array<uint8_t, 4> bytes = {192, 0, 2, 7};
  EXPECT_EQ(request_key_hash(spec("client_ip"), request), hash_client_ip(bytes));
}

TEST(RequestKeyHash, AnIpv4MappedAddressHashesLikeIpv4) {
  FakeRequest v4;
  FakeRequest mapped;
  mapped.ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
  EXPECT_EQ(request_key_hash(spec("client_ip"), mapped), request_key_hash(spec("client_ip"), v4));
  FakeRequest v6;
  v6.ip = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};
  EXPECT_NE(request_key_hash(spec("client_ip"), v6), request_key_hash(spec("client_ip"), v4));
}

TEST(RequestKeyHash, UriIsTheWholeTarget) {
  FakeRequest request;
  EXPECT_EQ(request_key_hash(spec("uri"), request), hash_key_bytes("/cart?id=3"));
  request.path = "";
  EXPECT_EQ(request_key_hash(spec("uri"), request), std::nullopt);
}

TEST(RequestKeyHash, HeaderTakesTheFirstFieldOfThatName) {
  FakeRequest request;
  request.headers = {{"Host", "a"}, {"x-user-id", "alice"}, {"X-User-Id", "bob"}};
  EXPECT_EQ(request_key_hash(spec("header:X-User-Id"), request), hash_key_bytes("alice"));
  EXPECT_EQ(request_key_hash(spec("header:X-Tenant"), request), std::nullopt);
}

TEST(RequestKeyHash, CookieIsFoundInAnyCookieHeader) {
  FakeRequest request;
  request.headers = {{"Cookie", "theme=dark; lang=en"}, {"cookie", "a=1;session=s3cr3t ; b=2"}};
  EXPECT_EQ(request_key_hash(spec("cookie:session"), request), hash_key_bytes("s3cr3t"));
  EXPECT_EQ(request_key_hash(spec("cookie:lang"), request), hash_key_bytes("en"));
  EXPECT_EQ(request_key_hash(spec("cookie:user"), request), std::nullopt);
}

TEST(FindCookie, ParsesPairsAndIgnoresJunk) {
  EXPECT_EQ(find_cookie("a=1; b=2", "b"), "2");
  EXPECT_EQ(find_cookie("a=1; b=", "b"), "");
  EXPECT_EQ(find_cookie("flag; a=x=y", "a"), "x=y");
  EXPECT_EQ(find_cookie("ab=1", "a"), std::nullopt);
  EXPECT_EQ(find_cookie("", "a"), std::nullopt);
}

TEST(RawKeyHash, AnExplainedValueHashesLikeTheSameValueInARequest) {
  FakeRequest request;
  request.headers = {{"X-User-Id", "alice"}, {"Cookie", "session=s3cr3t"}};
  std::string why;
  EXPECT_EQ(raw_key_hash(spec("header:X-User-Id"), "alice", why),
            request_key_hash(spec("header:X-User-Id"), request));
  EXPECT_EQ(raw_key_hash(spec("cookie:session"), "s3cr3t", why),
            request_key_hash(spec("cookie:session"), request));
  EXPECT_EQ(raw_key_hash(spec("uri"), "/cart?id=3", why), request_key_hash(spec("uri"), request));
  EXPECT_EQ(raw_key_hash(spec("client_ip"), "192.0.2.7", why),
            request_key_hash(spec("client_ip"), request));
  EXPECT_EQ(raw_key_hash(spec("client_ip"), "::ffff:192.0.2.7", why),
            request_key_hash(spec("client_ip"), request));
}

TEST(RawKeyHash, AClientIpKeyMustBeAnAddress) {
  std::string why;
  EXPECT_EQ(raw_key_hash(spec("client_ip"), "alice", why), std::nullopt);
  EXPECT_EQ(why,
            "'alice' is not an IP address; hash_key = \"client_ip\" needs one, like 192.0.2.7");
  EXPECT_TRUE(raw_key_hash(spec("client_ip"), "2001:db8::1", why));
}

TEST(HashKeyBytes, IsXxh3WithSeedZero) {
  // XXH3_64bits("") from the xxHash test vectors.
  EXPECT_EQ(hash_key_bytes(""), 0x2d06800538d394c2ULL);
}

}  // namespace
}  // namespace ringlb::balancers
