// PROXY protocol v1 and v2, parsed strictly: the header is trusted to name the client, so
// anything the spec does not allow closes the connection rather than being guessed at.
#include "core/io/proxy_header.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace ringlb::proxy_protocol {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr uint8_t kV2Version = 0x20;
constexpr uint8_t kCommandLocal = 0x0;
constexpr uint8_t kCommandProxy = 0x1;

Result invalid(const char* problem) {
  Result result;
  result.status = Status::kInvalid;
  result.problem = problem;
  return result;
}

Result need_more() { return Result{}; }

Result done_without_addresses(size_t header_bytes) {
  Result result;
  result.status = Status::kDone;
  result.header_bytes = header_bytes;
  return result;
}

// True when `input` is a prefix of `expected`, or starts with all of it.
bool matches_prefix(std::span<const uint8_t> input, std::span<const uint8_t> expected) {
  const size_t count = std::min(input.size(), expected.size());
  return std::equal(input.begin(), input.begin() + static_cast<ptrdiff_t>(count), expected.begin());
}

void set_ipv4(sockaddr_in6& storage, const void* address, uint16_t port_network_order) {
  auto& in4 = reinterpret_cast<sockaddr_in&>(storage);
  in4.sin_family = AF_INET;
  std::memcpy(&in4.sin_addr, address, sizeof(in4.sin_addr));
  in4.sin_port = port_network_order;
}

void set_ipv6(sockaddr_in6& storage, const void* address, uint16_t port_network_order) {
  storage.sin6_family = AF_INET6;
  std::memcpy(&storage.sin6_addr, address, sizeof(storage.sin6_addr));
  storage.sin6_port = port_network_order;
}

// ---- v1 ----

// A decimal port: 1 to 5 digits, at most 65535.
bool parse_port(std::string_view text, uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  uint32_t value = 0;
  for (char digit : text) {
    if (digit < '0' || digit > '9') return false;
    value = value * 10 + static_cast<uint32_t>(digit - '0');
  }
  if (value > 65535) return false;
  port = htons(static_cast<uint16_t>(value));
  return true;
}

// One address in the form inet_pton reads for `family`.
bool parse_address(std::string_view text, int family, void* out) {
  char copy[INET6_ADDRSTRLEN] = {};
  if (text.empty() || text.size() >= sizeof(copy)) return false;
  std::memcpy(copy, text.data(), text.size());
  return inet_pton(family, copy, out) == 1;
}

// "TCP4 SRC DST SPORT DPORT" (the line without "PROXY " and CRLF), fields split by one space.
Result parse_v1_line(std::string_view line, size_t header_bytes) {
  // UNKNOWN: whatever follows is to be ignored, and the real peer is the client.
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN "))
    return done_without_addresses(header_bytes);
  std::array<std::string_view, 5> fields;
  for (size_t i = 0; i < fields.size(); ++i) {
    const size_t space = line.find(' ');
    if ((space == std::string_view::npos) != (i == fields.size() - 1)) {
      return invalid("v1 header without its five fields");
    }
    fields[i] = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  int family = 0;
  if (fields[0] == "TCP4") {
    family = AF_INET;
  } else if (fields[0] == "TCP6") {
    family = AF_INET6;
  } else {
    return invalid("v1 header with a protocol other than TCP4, TCP6 or UNKNOWN");
  }
  std::array<uint8_t, 16> source{};
  std::array<uint8_t, 16> destination{};
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  if (!parse_address(fields[1], family, source.data()) ||
      !parse_address(fields[2], family, destination.data())) {
    return invalid("v1 header with an address that does not match its protocol");
  }
  if (!parse_port(fields[3], source_port) || !parse_port(fields[4], destination_port)) {
    return invalid("v1 header with a port that is not a number from 0 to 65535");
  }
  Result result = done_without_addresses(header_bytes);
  result.carries_addresses = true;
  const auto set = family == AF_INET ? set_ipv4 : set_ipv6;
  set(result.source, source.data(), source_port);
  set(result.destination, destination.data(), destination_port);
  return result;
}

Result parse_v1(std::span<const uint8_t> input) {
  const auto prefix =
      std::span(reinterpret_cast<const uint8_t*>(kV1Prefix.data()), kV1Prefix.size());
  if (!matches_prefix(input, prefix)) return invalid("neither a v1 nor a v2 header");
  const size_t scan = std::min(input.size(), kV1MaxBytes);
  for (size_t i = 0; i < scan; ++i) {
    const uint8_t byte = input[i];
    if (byte == '\r') {
      if (i + 1 == input.size()) return need_more();
      if (input[i + 1] != '\n') return invalid("v1 header with a CR not followed by LF");
      if (i + 2 > kV1MaxBytes) return invalid("v1 header longer than 107 bytes");
      if (i < kV1Prefix.size()) return invalid("v1 header cut short");
      const std::string_view line(reinterpret_cast<const char*>(input.data()) + kV1Prefix.size(),
                                  i - kV1Prefix.size());
      return parse_v1_line(line, i + 2);
    }
    if (byte < 0x20 || byte > 0x7E) return invalid("v1 header with a byte that is not text");
  }
  if (input.size() >= kV1MaxBytes) return invalid("v1 header longer than 107 bytes");
  return need_more();
}

// ---- v2 ----

// The address block the family needs: 12 for IPv4, 36 for IPv6, 216 for AF_UNIX, 0 for UNSPEC.
// False for a family byte the spec does not define.
bool address_block_size(uint8_t family_and_protocol, size_t& size) {
  switch (family_and_protocol) {
    case 0x00:
      size = 0;
      return true;
    case 0x11:
    case 0x12:
      size = 12;
      return true;
    case 0x21:
    case 0x22:
      size = 36;
      return true;
    case 0x31:
    case 0x32:
      size = 216;
      return true;
    default:
      return false;
  }
}

Result parse_v2(std::span<const uint8_t> input) {
  if (!matches_prefix(input, kV2Signature)) return invalid("neither a v1 nor a v2 header");
  if (input.size() <= 12) return need_more();
  const uint8_t version_command = input[12];
  if ((version_command & 0xF0) != kV2Version)
    return invalid("v2 header with a version other than 2");
  const uint8_t command = version_command & 0x0F;
  if (command != kCommandLocal && command != kCommandProxy) {
    return invalid("v2 header with a command other than LOCAL or PROXY");
  }
  if (input.size() <= 13) return need_more();
  size_t address_bytes = 0;
  if (!address_block_size(input[13], address_bytes))
    return invalid("v2 header with an unknown family");
  if (input.size() < kV2FixedBytes) return need_more();
  const size_t length = (size_t{input[14]} << 8) | input[15];
  if (kV2FixedBytes + length > kMaxHeaderBytes) return invalid("v2 header longer than accepted");
  if (command == kCommandProxy && length < address_bytes) {
    return invalid("v2 header shorter than its family's addresses");
  }
  const size_t header_bytes = kV2FixedBytes + length;
  // LOCAL (a health check from the proxy itself), UNSPEC and AF_UNIX: the real peer is the
  // client, and nothing after the fixed part is read. Otherwise the addresses are; TLVs after
  // them never are (the caller skips them).
  const uint8_t family = input[13] >> 4;
  if (command == kCommandLocal || (family != 0x1 && family != 0x2)) {
    return done_without_addresses(header_bytes);
  }
  if (input.size() < kV2FixedBytes + address_bytes) return need_more();
  Result result = done_without_addresses(header_bytes);
  result.carries_addresses = true;
  const uint8_t* block = input.data() + kV2FixedBytes;
  const size_t address_size = family == 0x1 ? 4 : 16;
  uint16_t ports[2];
  std::memcpy(ports, block + 2 * address_size, sizeof(ports));  // already in network order
  const auto set = family == 0x1 ? set_ipv4 : set_ipv6;
  set(result.source, block, ports[0]);
  set(result.destination, block + address_size, ports[1]);
  return result;
}

// ---- writing ----

// An address as it goes on the wire: IPv4 (an IPv4-mapped IPv6 address included) or IPv6.
struct WireAddress {
  int family = AF_UNSPEC;
  std::array<uint8_t, 16> bytes{};
  uint16_t port = 0;  // network order
};

WireAddress wire_address(const sockaddr_in6& storage) {
  WireAddress wire;
  if (storage.sin6_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(storage);
    wire.family = AF_INET;
    std::memcpy(wire.bytes.data(), &in4.sin_addr, 4);
    wire.port = in4.sin_port;
  } else if (storage.sin6_family == AF_INET6) {
    const bool mapped = IN6_IS_ADDR_V4MAPPED(&storage.sin6_addr);
    wire.family = mapped ? AF_INET : AF_INET6;
    std::memcpy(wire.bytes.data(), storage.sin6_addr.s6_addr + (mapped ? 12 : 0), mapped ? 4 : 16);
    wire.port = storage.sin6_port;
  }
  return wire;
}

size_t write_v1(const WireAddress& source, const WireAddress& destination,
                std::span<uint8_t, kMaxWrittenBytes> out) {
  char* text = reinterpret_cast<char*>(out.data());
  if (source.family == AF_UNSPEC || source.family != destination.family) {
    return static_cast<size_t>(std::snprintf(text, out.size(), "PROXY UNKNOWN\r\n"));
  }
  char from[INET6_ADDRSTRLEN];
  char to[INET6_ADDRSTRLEN];
  inet_ntop(source.family, source.bytes.data(), from, sizeof(from));
  inet_ntop(source.family, destination.bytes.data(), to, sizeof(to));
  const int written = std::snprintf(text, out.size(), "PROXY %s %s %s %u %u\r\n",
                                    source.family == AF_INET ? "TCP4" : "TCP6", from, to,
                                    ntohs(source.port), ntohs(destination.port));
  return static_cast<size_t>(written);
}

size_t write_v2(const WireAddress& source, const WireAddress& destination,
                std::span<uint8_t, kMaxWrittenBytes> out) {
  std::memcpy(out.data(), kV2Signature.data(), kV2Signature.size());
  out[12] = kV2Version | kCommandProxy;
  const bool known = source.family != AF_UNSPEC && source.family == destination.family;
  const size_t address_size = !known ? 0 : source.family == AF_INET ? 4 : 16;
  out[13] = !known ? 0x00 : source.family == AF_INET ? 0x11 : 0x21;
  const size_t length = known ? 2 * address_size + 4 : 0;
  out[14] = static_cast<uint8_t>(length >> 8);
  out[15] = static_cast<uint8_t>(length);
  if (!known) return kV2FixedBytes;
  uint8_t* block = out.data() + kV2FixedBytes;
  std::memcpy(block, source.bytes.data(), address_size);
  std::memcpy(block + address_size, destination.bytes.data(), address_size);
  std::memcpy(block + 2 * address_size, &source.port, 2);
  std::memcpy(block + 2 * address_size + 2, &destination.port, 2);
  return kV2FixedBytes + length;
}

}  // namespace

Result parse(std::span<const uint8_t> input) {
  if (input.empty()) return need_more();
  // The receiver never guesses: the first byte says which signature to expect, and bytes that
  // match neither close the connection.
  return input[0] == kV2Signature[0] ? parse_v2(input) : parse_v1(input);
}

size_t write(Version version, const sockaddr_in6& source, const sockaddr_in6& destination,
             std::span<uint8_t, kMaxWrittenBytes> out) {
  const WireAddress from = wire_address(source);
  const WireAddress to = wire_address(destination);
  return version == Version::kV1 ? write_v1(from, to, out) : write_v2(from, to, out);
}

size_t write_local(Version version, std::span<uint8_t, kMaxWrittenBytes> out) {
  if (version == Version::kV1) return write_v1(WireAddress{}, WireAddress{}, out);
  const size_t length = write_v2(WireAddress{}, WireAddress{}, out);
  out[12] = kV2Version | kCommandLocal;
  return length;
}

}  // namespace ringlb::proxy_protocol
