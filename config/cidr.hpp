// Source address ranges (CIDRs) written in the configuration, such as proxy_protocol_from: parsed
// once by the loader, matched against a connection's peer on the data path without allocating.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace ringlb::config {

// An IPv4 range is kept as its IPv4-mapped IPv6 form (::ffff:a.b.c.d, prefix + 96), so that
// "10.0.0.0/8" matches an IPv4 client on an IPv4 socket and on a dual-stack IPv6 one alike.
struct Cidr {
  std::array<uint8_t, 16> address{};  // the bits beyond the prefix are zero
  uint8_t prefix_bits = 0;            // of the 128
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Bits set beyond the prefix
// ("10.0.0.1/8") are refused: such a range is usually a typo for a narrower one.
std::optional<Cidr> parse_cidr(std::string_view text);

// Whether `address` (4 bytes of IPv4 or 16 of IPv6, as peer_address_bytes gives them) is in
// `range`.
bool contains(const Cidr& range, std::span<const uint8_t> address);

}  // namespace ringlb::config
