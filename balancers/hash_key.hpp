// What consistent hashing hashes: `hash_key = "client_ip" | "uri" | "header:NAME" |
// "cookie:NAME"`, parsed once at config time, then extracted from each request through a small
// view the sessions implement. Pure: no Beast, no sockets, no allocation on the data path.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringlb::balancers {

enum class HashKeyKind : uint8_t { kClientIp, kUri, kHeader, kCookie };

struct HashKeySpec {
  HashKeyKind kind = HashKeyKind::kClientIp;
  std::string name;  // the header or cookie name; empty for client_ip and uri

  // uri, header and cookie keys exist only in HTTP requests; a tcp listener has client_ip only.
  bool needs_http() const { return kind != HashKeyKind::kClientIp; }
  // The spelling it was parsed from: "client_ip", "header:X-User-Id", ...
  std::string to_string() const;
  friend bool operator==(const HashKeySpec&, const HashKeySpec&) = default;
};

// nullopt unless `text` is one of the four forms with a non-empty NAME. Config validation has the
// user-facing messages (config/units.hpp); this only turns validated text into a spec.
std::optional<HashKeySpec> parse_hash_key(std::string_view text);

// What a session shows of its request. Implementations borrow from their own buffers; the views
// returned must stay valid for the duration of the request_key_hash() call only.
class RequestView {
 public:
  virtual ~RequestView() = default;
  // The client's address bytes in network order: 4 (IPv4) or 16 (IPv6).
  virtual std::span<const uint8_t> client_ip() const = 0;
  // The request target as received ("/path?query"); empty on a tcp listener.
  virtual std::string_view target() const = 0;
  // The value of the `nth` (0-based) header field named `name`, compared case-insensitively,
  // or nullopt when there are not that many.
  virtual std::optional<std::string_view> header(std::string_view name, size_t nth) const = 0;
};

// The hash of raw key bytes: XXH3-64, seed 0, so every ringlb instance agrees.
uint64_t hash_key_bytes(std::string_view bytes);

// The hash of a client address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack
// listener sees) hashes like the IPv4 address, so both listener kinds agree.
uint64_t hash_client_ip(std::span<const uint8_t> address);

// The value of cookie `name` in one Cookie header value ("a=1; b=2"), or nullopt.
std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name);

// The request's key hash, or nullopt when the request has no such key (no header, no cookie,
// a tcp listener asked for a uri). Data path: no allocation, no exceptions.
std::optional<uint64_t> request_key_hash(const HashKeySpec& spec, const RequestView& request);

// The key hash for a value typed by a user (`ringlb explain --key`): an IP literal for
// client_ip, the raw header/cookie value or target otherwise. nullopt with `why` set when a
// client_ip key is not an IP address.
std::optional<uint64_t> raw_key_hash(const HashKeySpec& spec, std::string_view raw,
                                     std::string& why);

}  // namespace ringlb::balancers
