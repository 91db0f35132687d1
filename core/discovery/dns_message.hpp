// Reads a DNS response off the wire (RFC 1035 §4): the records of its answer and additional
// sections that discovery uses (A, AAAA, SRV) with their TTLs. Hand-written because c-ares 1.18's
// ares_parse_srv_reply drops the TTL and the additional section. Pure: no I/O, no c-ares.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ringlb::discovery {

inline constexpr uint16_t kDnsTypeA = 1;
inline constexpr uint16_t kDnsTypeAaaa = 28;
inline constexpr uint16_t kDnsTypeSrv = 33;

inline constexpr uint8_t kDnsRcodeNoError = 0;
inline constexpr uint8_t kDnsRcodeNxDomain = 3;

struct DnsRecord {
  std::string owner;    // lower case, no trailing dot
  uint16_t type = 0;    // kDnsTypeA, kDnsTypeAaaa or kDnsTypeSrv; others are skipped
  uint32_t ttl = 0;     // seconds
  std::string address;  // A/AAAA: the IP as text ("10.0.0.1", "fd00::1")
  // SRV (RFC 2782)
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;  // lower case, no trailing dot
};

struct DnsMessage {
  uint8_t rcode = 0;
  bool truncated = false;
  std::vector<DnsRecord> answers;
  std::vector<DnsRecord> additionals;
};

// The message in `wire`, or nullopt with `error` set when it is malformed (a name past the end
// or looping through pointers, a record longer than the message, an A record of 5 bytes...).
// Never reads outside `wire`.
std::optional<DnsMessage> parse_dns_message(std::span<const uint8_t> wire, std::string& error);

}  // namespace ringlb::discovery
