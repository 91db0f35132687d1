// CIDR parsing and matching, in the IPv4-mapped IPv6 space (cidr.hpp).
#include "config/cidr.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace ringlb::config {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

// `address` as 16 bytes: IPv4 becomes ::ffff:a.b.c.d.
std::array<uint8_t, 16> as_ipv6(std::span<const uint8_t> address) {
  std::array<uint8_t, 16> wide{};
  if (address.size() == 4) {
    std::memcpy(wide.data(), kMappedPrefix.data(), kMappedPrefix.size());
    std::memcpy(wide.data() + 12, address.data(), 4);
  } else if (address.size() == 16) {
    std::memcpy(wide.data(), address.data(), 16);
  }
  return wide;
}

// The prefix length after '/', from 0 to `max`.
std::optional<uint8_t> parse_prefix(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  unsigned value = 0;
  for (char digit : text) {
    if (digit < '0' || digit > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(digit - '0');
  }
  if (value > max || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  return static_cast<uint8_t>(value);
}

}  // namespace

std::optional<Cidr> parse_cidr(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  std::array<uint8_t, 16> bytes{};
  Cidr range;
  unsigned address_bits = 0;
  if (inet_pton(AF_INET, address.c_str(), bytes.data()) == 1) {
    range.address = as_ipv6(std::span(bytes.data(), 4));
    address_bits = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) {
    range.address = bytes;
    address_bits = 128;
  } else {
    return std::nullopt;
  }
  uint8_t prefix = static_cast<uint8_t>(address_bits);
  if (slash != std::string_view::npos) {
    std::optional<uint8_t> written = parse_prefix(text.substr(slash + 1), address_bits);
    if (!written) return std::nullopt;
    prefix = *written;
  }
  range.prefix_bits = static_cast<uint8_t>(prefix + (128 - address_bits));
  // Nothing may be set beyond the prefix.
  Cidr masked = range;
  for (unsigned bit = range.prefix_bits; bit < 128; ++bit) {
    masked.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (masked.address != range.address) return std::nullopt;
  return range;
}

bool contains(const Cidr& range, std::span<const uint8_t> address) {
  const std::array<uint8_t, 16> wide = as_ipv6(address);
  const unsigned whole = range.prefix_bits / 8;
  if (std::memcmp(wide.data(), range.address.data(), whole) != 0) return false;
  const unsigned rest = range.prefix_bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFFu << (8 - rest));
  return (wide[whole] & mask) == range.address[whole];
}

}  // namespace ringlb::config
