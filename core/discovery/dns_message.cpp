// The DNS wire format, read with bounds checked at every step (see dns_message.hpp).
#include "core/discovery/dns_message.hpp"

#include <arpa/inet.h>

#include <cctype>

namespace ringlb::discovery {
namespace {

constexpr size_t kHeaderBytes = 12;
constexpr size_t kMaxNameBytes = 255;
constexpr int kMaxPointerJumps = 64;

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> wire) : wire_(wire) {}

  bool u16(size_t at, uint16_t& out) const {
    if (at + 2 > wire_.size()) return false;
    out = static_cast<uint16_t>(wire_[at] << 8 | wire_[at + 1]);
    return true;
  }
  bool u32(size_t at, uint32_t& out) const {
    uint16_t high = 0;
    uint16_t low = 0;
    if (!u16(at, high) || !u16(at + 2, low)) return false;
    out = uint32_t{high} << 16 | low;
    return true;
  }

  // Reads the (possibly compressed) name at `at`; `next` is the offset after it in place.
  bool name(size_t at, std::string& out, size_t& next) const {
    out.clear();
    bool jumped = false;
    int jumps = 0;
    for (;;) {
      if (at >= wire_.size()) return false;
      const uint8_t length = wire_[at];
      if ((length & 0xC0) == 0xC0) {
        if (at + 2 > wire_.size() || ++jumps > kMaxPointerJumps) return false;
        if (!jumped) next = at + 2;
        jumped = true;
        at = static_cast<size_t>(length & 0x3F) << 8 | wire_[at + 1];
        continue;
      }
      if ((length & 0xC0) != 0) return false;  // the reserved label types
      if (length == 0) {
        if (!jumped) next = at + 1;
        return true;
      }
      if (at + 1 + length > wire_.size() || out.size() + length + 1 > kMaxNameBytes) return false;
      if (!out.empty()) out += '.';
      for (size_t i = 0; i < length; ++i) {
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(wire_[at + 1 + i])));
      }
      at += 1 + length;
    }
  }

  std::span<const uint8_t> bytes(size_t at, size_t count) const { return wire_.subspan(at, count); }
  size_t size() const { return wire_.size(); }

 private:
  std::span<const uint8_t> wire_;
};

bool read_address(std::span<const uint8_t> rdata, int family, std::string& out) {
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, rdata.data(), text, sizeof(text)) == nullptr) return false;
  out = text;
  return true;
}

// The typed part of one record's data; false when it does not fit its type.
bool read_rdata(const Reader& reader, size_t at, uint16_t length, DnsRecord& record) {
  const std::span<const uint8_t> rdata = reader.bytes(at, length);
  switch (record.type) {
    case kDnsTypeA:
      return length == 4 && read_address(rdata, AF_INET, record.address);
    case kDnsTypeAaaa:
      return length == 16 && read_address(rdata, AF_INET6, record.address);
    case kDnsTypeSrv: {
      size_t end = 0;
      if (length < 7 || !reader.u16(at, record.priority) || !reader.u16(at + 2, record.weight) ||
          !reader.u16(at + 4, record.port) || !reader.name(at + 6, record.target, end)) {
        return false;
      }
      return end <= at + length;
    }
    default:
      return true;
  }
}

// Reads `count` records from `at`; the kinds discovery uses go to `out`.
bool read_records(const Reader& reader, size_t& at, uint16_t count, std::vector<DnsRecord>& out,
                  std::string& error) {
  for (uint16_t i = 0; i < count; ++i) {
    DnsRecord record;
    uint16_t rclass = 0;
    uint16_t length = 0;
    size_t fixed = 0;
    if (!reader.name(at, record.owner, fixed) || !reader.u16(fixed, record.type) ||
        !reader.u16(fixed + 2, rclass) || !reader.u32(fixed + 4, record.ttl) ||
        !reader.u16(fixed + 8, length) || fixed + 10 + length > reader.size()) {
      error = "a record runs past the end of the message";
      return false;
    }
    if (!read_rdata(reader, fixed + 10, length, record)) {
      error = "a record's data does not fit its type " + std::to_string(record.type);
      return false;
    }
    record.ttl = std::min<uint32_t>(record.ttl, 0x7FFFFFFF);  // RFC 2181 §8: the top bit means 0
    const bool used =
        record.type == kDnsTypeA || record.type == kDnsTypeAaaa || record.type == kDnsTypeSrv;
    if (used && rclass == 1) out.push_back(std::move(record));
    at = fixed + 10 + length;
  }
  return true;
}

}  // namespace

std::optional<DnsMessage> parse_dns_message(std::span<const uint8_t> wire, std::string& error) {
  const Reader reader(wire);
  uint16_t flags = 0;
  uint16_t questions = 0;
  uint16_t answers = 0;
  uint16_t authorities = 0;
  uint16_t additionals = 0;
  if (wire.size() < kHeaderBytes || !reader.u16(2, flags) || !reader.u16(4, questions) ||
      !reader.u16(6, answers) || !reader.u16(8, authorities) || !reader.u16(10, additionals)) {
    error = "shorter than a DNS header";
    return std::nullopt;
  }
  DnsMessage message;
  message.rcode = static_cast<uint8_t>(flags & 0x0F);
  message.truncated = (flags & 0x0200) != 0;
  size_t at = kHeaderBytes;
  for (uint16_t i = 0; i < questions; ++i) {
    std::string name;
    if (!reader.name(at, name, at) || at + 4 > wire.size()) {
      error = "a question runs past the end of the message";
      return std::nullopt;
    }
    at += 4;
  }
  std::vector<DnsRecord> skipped;
  if (!read_records(reader, at, answers, message.answers, error) ||
      !read_records(reader, at, authorities, skipped, error) ||
      !read_records(reader, at, additionals, message.additionals, error)) {
    return std::nullopt;
  }
  return message;
}

}  // namespace ringlb::discovery
