// Parsers and checks for the value syntaxes the configuration uses: durations ("1m30s"), sizes
// ("16KiB"), addresses ("127.0.0.1:8080", "[::1]:8080"), hash keys, status lists, route hosts.
// Pure functions, no toml++ here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace ringlb::config {

// Integers with units ms|s|m|h, concatenated largest unit first, no spaces: "250ms", "2s",
// "1m30s". Empty, negative, unitless and overflowing input gives nullopt. "0s" is accepted.
std::optional<Duration> parse_duration(std::string_view text);

// Plain digits (bytes) or digits followed by B, KiB, MiB or GiB: "0", "512", "16KiB", "1MiB".
// Nothing else (no KB/MB, no spaces, no fractions); overflow gives nullopt.
std::optional<uint64_t> parse_size(std::string_view text);

// "HOST:PORT" with HOST an IPv4 literal, or "[IPv6]:PORT"; port 1-65535. Hostnames are refused:
// ringlb never resolves names. The host is stored in canonical form ("::1", not "0:0::1").
// On failure returns nullopt and, when `why` is not null, sets it to the reason in words.
std::optional<Address> parse_address(std::string_view text, std::string* why);

// Whether `address` is 0.0.0.0 or ::, the "every local address" forms.
bool is_wildcard(const Address& address);

// Why `hash_key` is malformed, or "" when it is client_ip, uri, header:NAME or cookie:NAME (NAME
// an HTTP token). The reason names the key and may end with a did-you-mean.
std::string hash_key_problem(std::string_view hash_key);

// "200", "200-399", "200-299,302" (spaces around items allowed): codes 100-599, ranges low-high.
bool is_valid_expect_status(std::string_view text);

// An exact host ("api.example.com") or a leading wildcard ("*.example.com"); '*' nowhere else.
bool is_valid_route_host(std::string_view host);

}  // namespace ringlb::config
