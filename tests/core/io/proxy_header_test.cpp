// The PROXY protocol parser and writer against haproxy's proxy-protocol.txt: what a receiver
// must accept, what it must refuse, and that a header split anywhere is only ever "need more".
#include "core/io/proxy_header.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace ringlb::proxy_protocol {
namespace {

std::vector<uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

Result parse_text(std::string_view text) {
  const std::vector<uint8_t> input = bytes(text);
  return parse(input);
}

std::string ip_of(const sockaddr_in6& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.sin6_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, &address.sin6_addr, text, sizeof(text));
  }
  return text;
}

uint16_t port_of(const sockaddr_in6& address) {
  return ntohs(address.sin6_family == AF_INET
                   ? reinterpret_cast<const sockaddr_in&>(address).sin_port
                   : address.sin6_port);
}

const std::vector<uint8_t> kSignature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// A v2 header: the signature, then version/command, family, length and `body`.
std::vector<uint8_t> v2(uint8_t version_command, uint8_t family, std::vector<uint8_t> body,
                        int claimed_length = -1) {
  std::vector<uint8_t> header = kSignature;
  const size_t length = claimed_length < 0 ? body.size() : static_cast<size_t>(claimed_length);
  header.push_back(version_command);
  header.push_back(family);
  header.push_back(static_cast<uint8_t>(length >> 8));
  header.push_back(static_cast<uint8_t>(length));
  header.insert(header.end(), body.begin(), body.end());
  return header;
}

const std::vector<uint8_t> kTcp4Body = {192, 0, 2, 1, 198, 51, 100, 7, 0xC3, 0x50, 0x01, 0xBB};

TEST(ProxyHeader, V1Tcp4GivesTheClientAndTheAddressItReached) {
  const Result result = parse_text("PROXY TCP4 192.0.2.1 198.51.100.7 50000 443\r\nGET /");
  ASSERT_EQ(result.status, Status::kDone) << result.problem;
  EXPECT_EQ(result.header_bytes, 45u);
  EXPECT_TRUE(result.carries_addresses);
  EXPECT_EQ(ip_of(result.source), "192.0.2.1");
  EXPECT_EQ(port_of(result.source), 50000);
  EXPECT_EQ(ip_of(result.destination), "198.51.100.7");
  EXPECT_EQ(port_of(result.destination), 443);
}

TEST(ProxyHeader, V1Tcp6) {
  const Result result = parse_text("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n");
  ASSERT_EQ(result.status, Status::kDone) << result.problem;
  EXPECT_EQ(result.source.sin6_family, AF_INET6);
  EXPECT_EQ(ip_of(result.source), "2001:db8::1");
  EXPECT_EQ(port_of(result.destination), 65535);
}

TEST(ProxyHeader, V1UnknownUsesTheRealPeer) {
  const Result bare = parse_text("PROXY UNKNOWN\r\n");
  ASSERT_EQ(bare.status, Status::kDone);
  EXPECT_FALSE(bare.carries_addresses);
  const Result with_rest = parse_text("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
  ASSERT_EQ(with_rest.status, Status::kDone);
  EXPECT_FALSE(with_rest.carries_addresses);
  EXPECT_EQ(with_rest.header_bytes, 35u);
}

TEST(ProxyHeader, V1SplitAnywhereIsNeedMoreUntilTheLastByte) {
  const std::string header = "PROXY TCP4 192.0.2.1 198.51.100.7 50000 443\r\n";
  for (size_t cut = 0; cut < header.size(); ++cut) {
    EXPECT_EQ(parse_text(header.substr(0, cut)).status, Status::kNeedMore) << cut;
  }
  EXPECT_EQ(parse_text(header).status, Status::kDone);
}

TEST(ProxyHeader, V1MalformedIsRefused) {
  for (const char* text : {
           "PROXY TCP4 192.0.2.1 198.51.100.7 50000\r\n",        // a field short
           "PROXY TCP4 192.0.2.1 198.51.100.7 50000 443 9\r\n",  // one too many
           "PROXY TCP4  192.0.2.1 198.51.100.7 50000 443\r\n",   // two spaces
           "PROXY TCP4 2001:db8::1 198.51.100.7 50000 443\r\n",  // IPv6 under TCP4
           "PROXY TCP6 192.0.2.1 198.51.100.7 50000 443\r\n",    // IPv4 under TCP6
           "PROXY TCP4 192.0.2.1 198.51.100.7 65536 443\r\n",    // port too large
           "PROXY TCP4 192.0.2.1 198.51.100.7 -1 443\r\n",       // not a number
           "PROXY UDP4 192.0.2.1 198.51.100.7 1 2\r\n",          // not a stream protocol
           "PROXY TCP4 192.0.2.1 198.51.100.7 1 2\n",            // LF without CR
           "PROXY TCP4 192.0.2.1\r198.51.100.7 1 2\r\n",         // CR without LF
           "PROXY \r\n",                                         // nothing
           "proxy TCP4 192.0.2.1 198.51.100.7 1 2\r\n",          // wrong case
           "GET / HTTP/1.1\r\n",                                 // no header at all
           "\x16\x03\x01",                                       // a TLS ClientHello
       }) {
    EXPECT_EQ(parse_text(text).status, Status::kInvalid) << text;
  }
}

TEST(ProxyHeader, V1IsAtMost107Bytes) {
  // 107 bytes with the CRLF: accepted (UNKNOWN with padding).
  const std::string longest = "PROXY UNKNOWN " + std::string(107 - 16, 'x') + "\r\n";
  ASSERT_EQ(longest.size(), 107u);
  EXPECT_EQ(parse_text(longest).status, Status::kDone);
  const std::string too_long = "PROXY UNKNOWN " + std::string(107 - 15, 'x') + "\r\n";
  EXPECT_EQ(parse_text(too_long).status, Status::kInvalid);
  // No CRLF within 107 bytes: refused without waiting for more.
  EXPECT_EQ(parse_text("PROXY UNKNOWN " + std::string(200, 'x')).status, Status::kInvalid);
}

TEST(ProxyHeader, V2Tcp4SkipsTlvs) {
  std::vector<uint8_t> body = kTcp4Body;
  const std::vector<uint8_t> tlv = {0x04, 0x00, 0x03, 'a', 'b', 'c'};  // PP2_TYPE_NOOP
  body.insert(body.end(), tlv.begin(), tlv.end());
  std::vector<uint8_t> input = v2(0x21, 0x11, body);
  input.push_back(0x16);  // the client's first byte
  const Result result = parse(input);
  ASSERT_EQ(result.status, Status::kDone) << result.problem;
  EXPECT_EQ(result.header_bytes, 16u + 12 + 6);
  EXPECT_EQ(ip_of(result.source), "192.0.2.1");
  EXPECT_EQ(port_of(result.source), 50000);
  EXPECT_EQ(ip_of(result.destination), "198.51.100.7");
  EXPECT_EQ(port_of(result.destination), 443);
}

TEST(ProxyHeader, V2IsDoneOnceItsAddressesAreInAndTheRestIsToBeSkipped) {
  std::vector<uint8_t> body = kTcp4Body;
  body.resize(body.size() + 500, 0x04);  // TLVs not read
  const std::vector<uint8_t> header = v2(0x21, 0x11, body);
  const Result result = parse(std::span(header.data(), 28));
  ASSERT_EQ(result.status, Status::kDone) << result.problem;
  EXPECT_EQ(result.header_bytes, 16u + 512);
  EXPECT_EQ(ip_of(result.source), "192.0.2.1");
  const Result local = parse(std::span(v2(0x20, 0x31, std::vector<uint8_t>(216, 0)).data(), 16));
  ASSERT_EQ(local.status, Status::kDone);
  EXPECT_EQ(local.header_bytes, 16u + 216);
}

TEST(ProxyHeader, V2Tcp6) {
  std::vector<uint8_t> body(36, 0);
  body[0] = 0x20, body[1] = 0x01, body[15] = 1;    // 2001::1
  body[16] = 0x20, body[17] = 0x01, body[31] = 2;  // 2001::2
  body[32] = 0x00, body[33] = 0x50, body[34] = 0x00, body[35] = 0x51;
  const Result result = parse(v2(0x21, 0x21, body));
  ASSERT_EQ(result.status, Status::kDone) << result.problem;
  EXPECT_EQ(ip_of(result.source), "2001::1");
  EXPECT_EQ(port_of(result.source), 80);
  EXPECT_EQ(port_of(result.destination), 81);
}

TEST(ProxyHeader, V2LocalUnspecAndUnixUseTheRealPeer) {
  const Result local = parse(v2(0x20, 0x00, {}));
  ASSERT_EQ(local.status, Status::kDone);
  EXPECT_FALSE(local.carries_addresses);
  const Result local_with_addresses = parse(v2(0x20, 0x11, kTcp4Body));
  ASSERT_EQ(local_with_addresses.status, Status::kDone);
  EXPECT_FALSE(local_with_addresses.carries_addresses);
  const Result unspec = parse(v2(0x21, 0x00, {}));
  ASSERT_EQ(unspec.status, Status::kDone);
  EXPECT_FALSE(unspec.carries_addresses);
  const Result unix_stream = parse(v2(0x21, 0x31, std::vector<uint8_t>(216, 0)));
  ASSERT_EQ(unix_stream.status, Status::kDone);
  EXPECT_FALSE(unix_stream.carries_addresses);
}

TEST(ProxyHeader, V2SplitAnywhereIsNeedMoreUntilTheLastAddressByte) {
  for (const auto& [family, body] :
       {std::pair<uint8_t, std::vector<uint8_t>>(0x11, kTcp4Body),
        std::pair<uint8_t, std::vector<uint8_t>>(0x21, std::vector<uint8_t>(36, 1))}) {
    const std::vector<uint8_t> header = v2(0x21, family, body);
    ASSERT_LE(header.size(), kMaxParsedBytes);
    for (size_t cut = 0; cut < header.size(); ++cut) {
      EXPECT_EQ(parse(std::span(header.data(), cut)).status, Status::kNeedMore) << cut;
    }
    EXPECT_EQ(parse(header).status, Status::kDone);
  }
}

TEST(ProxyHeader, V2MalformedIsRefused) {
  EXPECT_EQ(parse(v2(0x11, 0x11, kTcp4Body)).status, Status::kInvalid);  // version 1
  EXPECT_EQ(parse(v2(0x22, 0x11, kTcp4Body)).status, Status::kInvalid);  // command 2
  EXPECT_EQ(parse(v2(0x21, 0x41, kTcp4Body)).status, Status::kInvalid);  // family 4
  EXPECT_EQ(parse(v2(0x21, 0x13, kTcp4Body)).status, Status::kInvalid);  // protocol 3
  EXPECT_EQ(parse(v2(0x21, 0x21, kTcp4Body)).status, Status::kInvalid);  // 12 bytes for IPv6
  std::vector<uint8_t> bad_signature = v2(0x21, 0x11, kTcp4Body);
  bad_signature[11] = 0x0B;
  EXPECT_EQ(parse(bad_signature).status, Status::kInvalid);
  // Refused as soon as the wrong byte arrives, not when the rest has come.
  EXPECT_EQ(parse(std::span(bad_signature.data(), 12)).status, Status::kInvalid);
}

TEST(ProxyHeader, V2LengthIsBoundedBeforeTheBodyIsRead) {
  // A claim of 65535 bytes is refused from its 16 fixed bytes: nothing waits for the rest.
  const std::vector<uint8_t> huge = v2(0x21, 0x11, {}, 65535);
  EXPECT_EQ(parse(huge).status, Status::kInvalid);
  const std::vector<uint8_t> largest =
      v2(0x21, 0x11, std::vector<uint8_t>(kMaxHeaderBytes - kV2FixedBytes, 0));
  EXPECT_EQ(parse(largest).status, Status::kDone);
  const std::vector<uint8_t> one_more =
      v2(0x21, 0x11, {}, static_cast<int>(kMaxHeaderBytes - kV2FixedBytes + 1));
  EXPECT_EQ(parse(one_more).status, Status::kInvalid);
}

sockaddr_in6 ipv4(const char* ip, uint16_t port) {
  sockaddr_in6 storage{};
  auto& in4 = reinterpret_cast<sockaddr_in&>(storage);
  in4.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &in4.sin_addr);
  in4.sin_port = htons(port);
  return storage;
}

sockaddr_in6 ipv6(const char* ip, uint16_t port) {
  sockaddr_in6 storage{};
  storage.sin6_family = AF_INET6;
  inet_pton(AF_INET6, ip, &storage.sin6_addr);
  storage.sin6_port = htons(port);
  return storage;
}

std::string written(Version version, const sockaddr_in6& from, const sockaddr_in6& to) {
  std::array<uint8_t, kMaxWrittenBytes> out{};
  const size_t length = write(version, from, to, out);
  return std::string(out.begin(), out.begin() + static_cast<ptrdiff_t>(length));
}

TEST(ProxyHeader, WritesV1) {
  EXPECT_EQ(written(Version::kV1, ipv4("192.0.2.1", 50000), ipv4("198.51.100.7", 443)),
            "PROXY TCP4 192.0.2.1 198.51.100.7 50000 443\r\n");
  EXPECT_EQ(written(Version::kV1, ipv6("2001:db8::1", 1), ipv6("2001:db8::2", 2)),
            "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n");
  // A dual-stack socket's IPv4 client is written as IPv4.
  EXPECT_EQ(written(Version::kV1, ipv6("::ffff:192.0.2.1", 1), ipv6("::ffff:127.0.0.1", 2)),
            "PROXY TCP4 192.0.2.1 127.0.0.1 1 2\r\n");
  EXPECT_EQ(written(Version::kV1, ipv4("192.0.2.1", 1), ipv6("2001:db8::2", 2)),
            "PROXY UNKNOWN\r\n");
}

TEST(ProxyHeader, WhatIsWrittenParsesBack) {
  for (Version version : {Version::kV1, Version::kV2}) {
    for (const auto& [from, to] : {std::pair(ipv4("192.0.2.1", 50000), ipv4("198.51.100.7", 443)),
                                   std::pair(ipv6("2001:db8::1", 7), ipv6("2001:db8::2", 8))}) {
      const std::string header = written(version, from, to);
      const Result result = parse(bytes(header));
      ASSERT_EQ(result.status, Status::kDone) << result.problem;
      EXPECT_EQ(result.header_bytes, header.size());
      EXPECT_EQ(ip_of(result.source), ip_of(from));
      EXPECT_EQ(port_of(result.source), port_of(from));
      EXPECT_EQ(ip_of(result.destination), ip_of(to));
      EXPECT_EQ(port_of(result.destination), port_of(to));
    }
  }
  const std::string unspec = written(Version::kV2, ipv4("192.0.2.1", 1), ipv6("2001:db8::2", 2));
  EXPECT_EQ(unspec.size(), kV2FixedBytes);
  const Result result = parse(bytes(unspec));
  ASSERT_EQ(result.status, Status::kDone);
  EXPECT_FALSE(result.carries_addresses);
}

TEST(ProxyHeader, AHealthChecksHeaderNamesNoClient) {
  std::array<uint8_t, kMaxWrittenBytes> out{};
  const size_t v1 = write_local(Version::kV1, out);
  EXPECT_EQ(std::string(out.begin(), out.begin() + static_cast<ptrdiff_t>(v1)),
            "PROXY UNKNOWN\r\n");
  const size_t v2 = write_local(Version::kV2, out);
  ASSERT_EQ(v2, kV2FixedBytes);
  EXPECT_EQ(out[12], 0x20);  // version 2, LOCAL
  const Result result = parse(std::span(out.data(), v2));
  ASSERT_EQ(result.status, Status::kDone);
  EXPECT_FALSE(result.carries_addresses);
}

}  // namespace
}  // namespace ringlb::proxy_protocol
