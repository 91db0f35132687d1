// Parsers for durations, sizes and addresses, strict on purpose: a value that could mean two
// things is refused rather than guessed.
#include "config/units.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "config/suggest.hpp"

namespace ringlb::config {
namespace {

struct Unit {
  std::string_view suffix;
  uint64_t scale;
};

// Largest first. "ms" must be tried before "m" so "5ms" is not read as 5 minutes plus junk.
constexpr std::array<Unit, 4> kDurationUnits = {{
    {"h", 3'600'000},
    {"ms", 1},
    {"m", 60'000},
    {"s", 1'000},
}};

// Order of magnitude of each duration unit, so "1m30s" is accepted and "30s1m" is not.
int duration_rank(std::string_view suffix) {
  if (suffix == "h") return 3;
  if (suffix == "m") return 2;
  if (suffix == "s") return 1;
  return 0;
}

constexpr std::array<Unit, 4> kSizeUnits = {{
    {"GiB", uint64_t{1} << 30},
    {"MiB", uint64_t{1} << 20},
    {"KiB", uint64_t{1} << 10},
    {"B", 1},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads the leading digits of `text` into `value` and drops them from `text`.
bool take_number(std::string_view& text, uint64_t& value) {
  if (text.empty() || !is_digit(text.front())) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc()) return false;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return true;
}

template <size_t N>
const Unit* take_unit(std::string_view& text, const std::array<Unit, N>& units) {
  for (const Unit& unit : units) {
    if (text.starts_with(unit.suffix)) {
      text.remove_prefix(unit.suffix.size());
      return &unit;
    }
  }
  return nullptr;
}

bool scaled_add(uint64_t& total, uint64_t value, uint64_t scale) {
  uint64_t scaled = 0;
  if (__builtin_mul_overflow(value, scale, &scaled)) return false;
  return !__builtin_add_overflow(total, scaled, &total);
}

bool looks_like_hostname(std::string_view host) {
  for (char c : host) {
    if (std::isalpha(static_cast<unsigned char>(c)) != 0) return true;
  }
  return false;
}

// Parses "1".."65535", digits only.
std::optional<uint16_t> parse_port(std::string_view text) {
  uint64_t port = 0;
  if (!take_number(text, port) || !text.empty() || port == 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// Validates `host` as a literal of `family` and returns it in canonical text form.
std::optional<std::string> canonical_host(const std::string& host, int family) {
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(family, host.c_str(), bytes.data()) != 1) return std::nullopt;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(family, bytes.data(), text.data(), text.size()) == nullptr) return std::nullopt;
  return std::string(text.data());
}

std::optional<Address> fail(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return std::nullopt;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// A three-digit status code from 100 to 599, or -1.
int status_code(std::string_view digits) {
  uint64_t value = 0;
  if (digits.size() != 3 || !take_number(digits, value) || !digits.empty()) return -1;
  return value >= 100 && value <= 599 ? static_cast<int>(value) : -1;
}

bool is_valid_status_item(std::string_view item) {
  size_t dash = item.find('-');
  int low = status_code(item.substr(0, dash));
  int high = dash == std::string_view::npos ? low : status_code(item.substr(dash + 1));
  return low >= 0 && high >= low;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t total_ms = 0;
  int previous_rank = 4;
  while (!text.empty()) {
    uint64_t value = 0;
    if (!take_number(text, value)) return std::nullopt;
    const Unit* unit = take_unit(text, kDurationUnits);
    if (unit == nullptr) return std::nullopt;
    int rank = duration_rank(unit->suffix);
    if (rank >= previous_rank) return std::nullopt;
    previous_rank = rank;
    if (!scaled_add(total_ms, value, unit->scale)) return std::nullopt;
  }
  if (total_ms > static_cast<uint64_t>(Duration::max().count())) return std::nullopt;
  return Duration(static_cast<Duration::rep>(total_ms));
}

std::optional<uint64_t> parse_size(std::string_view text) {
  uint64_t value = 0;
  if (!take_number(text, value)) return std::nullopt;
  if (text.empty()) return value;
  const Unit* unit = take_unit(text, kSizeUnits);
  if (unit == nullptr || !text.empty()) return std::nullopt;
  uint64_t bytes = 0;
  if (!scaled_add(bytes, value, unit->scale)) return std::nullopt;
  return bytes;
}

std::optional<Address> parse_address(std::string_view text, std::string* why) {
  if (text.empty()) return fail(why, "the address is empty; expected HOST:PORT");
  Address address;
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return fail(why, "missing ']' after the IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(why, "missing ':PORT' after the IPv6 address, like \"[::1]:8080\"");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    address.ipv6 = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(why, "missing ':PORT'; expected HOST:PORT, like \"127.0.0.1:8080\"");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail(why, "an IPv6 address must be in brackets, like \"[::1]:8080\"");
    }
  }
  if (host.empty()) {
    return fail(why, "missing host; use 0.0.0.0 (or [::]) to listen on every address");
  }
  std::optional<uint16_t> port_number = parse_port(port);
  if (!port_number) return fail(why, "the port must be a number from 1 to 65535");
  address.port = *port_number;

  std::optional<std::string> canonical =
      canonical_host(std::string(host), address.ipv6 ? AF_INET6 : AF_INET);
  if (canonical) {
    address.host = std::move(*canonical);
    return address;
  }
  if (!address.ipv6 && looks_like_hostname(host)) {
    return fail(why, "hostnames are not resolved; use an IP address");
  }
  std::string family = address.ipv6 ? "IPv6" : "IPv4";
  return fail(why, "'" + std::string(host) + "' is not a valid " + family + " address");
}

bool is_wildcard(const Address& address) {
  return address.host == "0.0.0.0" || address.host == "::";
}

std::string hash_key_problem(std::string_view hash_key) {
  if (hash_key == "client_ip" || hash_key == "uri") return {};
  size_t colon = hash_key.find(':');
  std::string kind(hash_key.substr(0, colon));
  std::string_view name = colon == std::string_view::npos ? "" : hash_key.substr(colon + 1);
  if ((kind == "header" || kind == "cookie") && colon != std::string_view::npos) {
    if (name.empty()) {
      return "'hash_key' needs a " + kind + " name after '" + kind + ":', like \"" + kind +
             (kind == "header" ? ":X-User-Id\"" : ":session\"");
    }
    if (std::all_of(name.begin(), name.end(), is_token_char)) return {};
    return "'hash_key': " + quoted(name) + " is not a valid " + kind +
           " name (letters, digits and !#$%&'*+-.^_`|~ only)";
  }
  std::string message =
      "'hash_key' must be client_ip, uri, header:NAME or cookie:NAME, not " + quoted(hash_key);
  std::string guess = suggest(kind, {"client_ip", "uri", "header", "cookie"});
  if (guess.empty()) return message;
  bool named = guess == "header" || guess == "cookie";
  std::string corrected = named ? guess + ":" + std::string(name.empty() ? "NAME" : name) : guess;
  return message + "; did you mean " + quoted(corrected) + "?";
}

bool is_valid_expect_status(std::string_view text) {
  while (true) {
    size_t comma = text.find(',');
    if (!is_valid_status_item(trim(text.substr(0, comma)))) return false;
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

bool is_valid_route_host(std::string_view host) {
  if (host.find('*') == std::string_view::npos) return true;
  return host.starts_with("*.") && host.size() > 2 && host.find('*', 1) == std::string_view::npos;
}

}  // namespace ringlb::config
