// The PROXY protocol header (haproxy's proxy-protocol.txt, v1 text and v2 binary): a pure parser
// that tells, from the bytes received so far, whether a header is complete, needs more bytes or
// is invalid, and a writer for the header sent to backends. No I/O here: the accepting session
// feeds bytes and reads the result (core/proxy/proxy_header_session.hpp); the tests feed it
// directly.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace ringlb::proxy_protocol {

// v1: "PROXY ... \r\n", at most 107 bytes with the CRLF (the spec's bound).
inline constexpr size_t kV1MaxBytes = 107;
// v2: the 16-byte fixed part, then `len` bytes of addresses and TLVs.
inline constexpr size_t kV2FixedBytes = 16;
// The longest header accepted. A v2 header may claim up to 16 + 65535 bytes; the spec lets the
// receiver bound it. This holds the addresses (216 bytes at most, for AF_UNIX) and TLVs such as
// AWS's and GCP's, which are tens of bytes; a longer claim is refused before it is read.
inline constexpr size_t kMaxHeaderBytes = 1024;
// The most bytes parse() needs to see to decide: a whole v1 header, or v2's fixed part and
// IPv6 addresses (what follows them, TLVs and AF_UNIX paths, is skipped unread).
inline constexpr size_t kMaxParsedBytes = kV1MaxBytes;

enum class Status : uint8_t {
  kNeedMore,  // every byte so far belongs to a header that is not complete yet
  kDone,      // a valid header of `header_bytes` bytes, of which parse() saw what it needs
  kInvalid,   // not a PROXY header, or a malformed one: the connection is to be closed
};

struct Result {
  Status status = Status::kNeedMore;
  // kDone: the header's length. Input beyond it is the client's. It may exceed the input: a v2
  // header is done once its addresses are in, and its remaining bytes (TLVs) are to be skipped.
  size_t header_bytes = 0;
  // kDone: the addresses below are the client's and the one it connected to. False for a v2
  // LOCAL, a v1 UNKNOWN and a v2 UNSPEC or AF_UNIX family: the real peer is then the client.
  bool carries_addresses = false;
  // As getpeername fills a sockaddr_in6-sized buffer: a sockaddr_in for IPv4.
  sockaddr_in6 source{};
  sockaddr_in6 destination{};
  const char* problem = "";  // kInvalid: why, for the log
};

// Parses the header at the start of `input`. Bytes after the header are ignored (the caller
// leaves them to the client's session). kNeedMore guarantees that all of `input` is header, so
// the caller may consume it and wait for more; it never comes with kMaxParsedBytes or more.
Result parse(std::span<const uint8_t> input);

enum class Version : uint8_t { kV1 = 1, kV2 = 2 };

// Enough for either version with IPv6 addresses (v1: 104 bytes; v2: 16 + 36).
inline constexpr size_t kMaxWrittenBytes = 108;

// Writes the header that tells a backend `source` connected to `destination` (both as
// getpeername/getsockname fill a sockaddr_in6-sized buffer) into `out`; returns its length.
// Addresses of different or unknown families give v1 "PROXY UNKNOWN" or v2 PROXY with
// AF_UNSPEC, as haproxy sends them. An IPv4-mapped IPv6 address is written as IPv4.
size_t write(Version version, const sockaddr_in6& source, const sockaddr_in6& destination,
             std::span<uint8_t, kMaxWrittenBytes> out);

// Writes the header of a connection the proxy makes on its own behalf, a health check: v1
// "PROXY UNKNOWN", v2 LOCAL (the receiver then uses the real endpoints), as haproxy sends it on
// checks. Returns its length.
size_t write_local(Version version, std::span<uint8_t, kMaxWrittenBytes> out);

}  // namespace ringlb::proxy_protocol
