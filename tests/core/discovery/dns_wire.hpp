// Builds DNS responses byte by byte for the discovery tests (RFC 1035 §4), so each test states
// the exact message a resolver sent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringlb::discovery::testing {

class Wire {
 public:
  // A response header: `flags` low bits are the rcode; counts as given.
  Wire& header(uint16_t flags, uint16_t questions, uint16_t answers, uint16_t additionals) {
    return u16(0x1234).u16(flags).u16(questions).u16(answers).u16(0).u16(additionals);
  }
  Wire& u8(uint8_t value) {
    bytes.push_back(value);
    return *this;
  }
  Wire& u16(uint16_t value) { return u8(static_cast<uint8_t>(value >> 8)).u8(value & 0xFF); }
  Wire& u32(uint32_t value) { return u16(static_cast<uint16_t>(value >> 16)).u16(value & 0xFFFF); }
  Wire& name(const std::string& dotted) {
    size_t start = 0;
    while (start < dotted.size()) {
      size_t dot = dotted.find('.', start);
      if (dot == std::string::npos) dot = dotted.size();
      u8(static_cast<uint8_t>(dot - start));
      for (size_t i = start; i < dot; ++i) u8(static_cast<uint8_t>(dotted[i]));
      start = dot + 1;
    }
    return u8(0);
  }
  Wire& pointer(uint16_t offset) { return u16(static_cast<uint16_t>(0xC000 | offset)); }
  Wire& question(const std::string& dotted, uint16_t type) { return name(dotted).u16(type).u16(1); }
  // A record's fixed part after its owner name.
  Wire& fixed(uint16_t type, uint32_t ttl, uint16_t length) {
    return u16(type).u16(1).u32(ttl).u16(length);
  }
  Wire& a(const std::string& owner, uint32_t ttl, uint8_t a1, uint8_t a2, uint8_t a3, uint8_t a4) {
    return name(owner).fixed(1, ttl, 4).u8(a1).u8(a2).u8(a3).u8(a4);
  }
  Wire& srv(const std::string& owner, uint32_t ttl, uint16_t priority, uint16_t weight,
            uint16_t port, const std::string& target) {
    const uint16_t length = static_cast<uint16_t>(6 + target.size() + 2);
    return name(owner).fixed(33, ttl, length).u16(priority).u16(weight).u16(port).name(target);
  }

  std::vector<uint8_t> bytes;
};

}  // namespace ringlb::discovery::testing
