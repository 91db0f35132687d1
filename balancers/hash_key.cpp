// Hash-key parsing and extraction. Every key ends in hash_key_bytes(), so a value typed into
// `ringlb explain` and the same value seen in a request hash alike.
#include "balancers/hash_key.hpp"

#include <arpa/inet.h>
#include <xxhash.h>

#include <algorithm>
#include <array>

namespace ringlb::balancers {
namespace {

constexpr std::array<uint8_t, 12> kIpv4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<uint64_t> cookie_hash(std::string_view name, const RequestView& request) {
  for (size_t nth = 0;; ++nth) {
    std::optional<std::string_view> header = request.header("Cookie", nth);
    if (!header) return std::nullopt;
    if (auto value = find_cookie(*header, name)) return hash_key_bytes(*value);
  }
}

}  // namespace

std::string HashKeySpec::to_string() const {
  switch (kind) {
    case HashKeyKind::kClientIp:
      return "client_ip";
    case HashKeyKind::kUri:
      return "uri";
    case HashKeyKind::kHeader:
      return "header:" + name;
    case HashKeyKind::kCookie:
      return "cookie:" + name;
  }
  return {};
}

std::optional<HashKeySpec> parse_hash_key(std::string_view text) {
  if (text == "client_ip") return HashKeySpec{HashKeyKind::kClientIp, {}};
  if (text == "uri") return HashKeySpec{HashKeyKind::kUri, {}};
  for (auto [prefix, kind] : {std::pair{std::string_view("header:"), HashKeyKind::kHeader},
                              std::pair{std::string_view("cookie:"), HashKeyKind::kCookie}}) {
    if (!text.starts_with(prefix) || text.size() == prefix.size()) continue;
    return HashKeySpec{kind, std::string(text.substr(prefix.size()))};
  }
  return std::nullopt;
}

uint64_t hash_key_bytes(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

uint64_t hash_client_ip(std::span<const uint8_t> address) {
  if (address.size() == 16 &&
      std::equal(kIpv4MappedPrefix.begin(), kIpv4MappedPrefix.end(), address.begin())) {
    address = address.subspan(12);
  }
  return XXH3_64bits(address.data(), address.size());
}

std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name) {
  while (!cookie_header.empty()) {
    const size_t semicolon = cookie_header.find(';');
    std::string_view pair = trim_spaces(cookie_header.substr(0, semicolon));
    cookie_header.remove_prefix(semicolon == std::string_view::npos ? cookie_header.size()
                                                                    : semicolon + 1);
    const size_t equals = pair.find('=');
    if (equals == std::string_view::npos) continue;
    if (trim_spaces(pair.substr(0, equals)) == name) return trim_spaces(pair.substr(equals + 1));
  }
  return std::nullopt;
}

std::optional<uint64_t> request_key_hash(const HashKeySpec& spec, const RequestView& request) {
  switch (spec.kind) {
    case HashKeyKind::kClientIp: {
      std::span<const uint8_t> address = request.client_ip();
      if (address.empty()) return std::nullopt;
      return hash_client_ip(address);
    }
    case HashKeyKind::kUri: {
      std::string_view target = request.target();
      if (target.empty()) return std::nullopt;
      return hash_key_bytes(target);
    }
    case HashKeyKind::kHeader: {
      std::optional<std::string_view> value = request.header(spec.name, 0);
      if (!value) return std::nullopt;
      return hash_key_bytes(*value);
    }
    case HashKeyKind::kCookie:
      return cookie_hash(spec.name, request);
  }
  return std::nullopt;
}

std::optional<uint64_t> raw_key_hash(const HashKeySpec& spec, std::string_view raw,
                                     std::string& why) {
  if (spec.kind != HashKeyKind::kClientIp) return hash_key_bytes(raw);
  const std::string text(raw);
  std::array<uint8_t, 16> address{};
  if (inet_pton(AF_INET, text.c_str(), address.data()) == 1) {
    return hash_client_ip(std::span(address.data(), 4));
  }
  if (inet_pton(AF_INET6, text.c_str(), address.data()) == 1) return hash_client_ip(address);
  why = "'" + text + "' is not an IP address; hash_key = \"client_ip\" needs one, like 192.0.2.7";
  return std::nullopt;
}

}  // namespace ringlb::balancers
