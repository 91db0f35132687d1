// The byte-level checks the parser applies on top of Beast's syntax checks.
#include "core/http/http_hardening.hpp"

#include <algorithm>
#include <cstring>

namespace ringlb::http {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_ows(char c) { return c == ' ' || c == '\t'; }
bool is_alnum(char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

template <typename Pred>
bool all_of(std::string_view s, Pred pred) {
  return std::all_of(s.begin(), s.end(), pred);
}

// RFC 3986 reg-name, IPv4 and IP-literal characters (with the ':' of IPv6).
bool is_host_char(char c) {
  return is_alnum(c) || std::string_view("-._~%!$&'()*+,;=").find(c) != std::string_view::npos;
}
bool is_ip_literal_char(char c) { return is_host_char(c) || c == ':'; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  const char lower = static_cast<char>(c | 0x20);
  if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
  return -1;
}

// Ends the segment that starts at `segment` in `path` (which always ends a '/' before it): drops
// it if it is "." or empty, drops it and the one before if it is "..", else keeps it and, unless
// it was the last, starts the next one with a '/'.
void end_segment(std::string& path, size_t segment, bool last) {
  const std::string_view text = std::string_view(path).substr(segment);
  if (text == "." || text == "..") {
    const bool up = text.size() == 2;
    path.resize(segment);
    if (up && segment > 1) path.resize(path.rfind('/', segment - 2) + 1);
  } else if (!text.empty() && !last) {
    path.push_back('/');
  }
}

}  // namespace

bool is_target_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte <= 0x20 || byte >= 0x7f) return false;
  return std::string_view("#<>\"{}|\\^`").find(c) == std::string_view::npos;
}

bool valid_host(std::string_view host) {
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    if (!all_of(host.substr(1, close - 1), is_ip_literal_char)) return false;
    port = host.substr(close + 1);
    if (!port.empty() && port.front() != ':') return false;
  } else {
    const size_t colon = host.find(':');
    if (!all_of(host.substr(0, colon), is_host_char)) return false;
    if (colon != std::string_view::npos) port = host.substr(colon);
  }
  return port.empty() || all_of(port.substr(1), is_digit);
}

std::string_view normalize_host(std::span<char> host) {
  const std::string_view text(host.data(), host.size());
  if (text.empty() || text.front() == '[') return text;
  const size_t name_end = std::min(text.find(':'), text.size());
  if (name_end < 2 || text[name_end - 1] != '.') return text;
  // Shift the port (if any) over the dot; the name keeps its place.
  std::memmove(host.data() + name_end - 1, host.data() + name_end, host.size() - name_end);
  return text.substr(0, text.size() - 1);
}

std::optional<std::string_view> routing_path(std::string_view target, std::string& scratch) {
  if (target.empty() || target.front() != '/') return target;
  // One pass to the query: most paths have nothing to normalize and are routed as they are.
  size_t end = 0;
  bool plain = true;
  for (; end < target.size() && target[end] != '?'; ++end) {
    const char c = target[end];
    if (c == '%' || c == ';' ||
        (c == '/' && end + 1 < target.size() &&
         (target[end + 1] == '.' || target[end + 1] == '/'))) {
      plain = false;
    }
  }
  const std::string_view path = target.substr(0, end);
  if (plain) return path;
  scratch.assign(1, '/');
  size_t segment = 1;  // where the segment being decoded starts in scratch
  for (size_t i = 1; i < path.size(); ++i) {
    char c = path[i];
    if (c == ';') {  // a path parameter: skipped up to the next '/' as it was sent
      while (i + 1 < path.size() && path[i + 1] != '/') ++i;
      continue;
    }
    if (c == '%') {
      const int high = i + 2 < path.size() ? hex_value(path[i + 1]) : -1;
      const int low = high < 0 ? -1 : hex_value(path[i + 2]);
      if (low < 0 || (high == 0 && low == 0)) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (c == '/') {
      end_segment(scratch, segment, /*last=*/false);
      segment = scratch.size();
    } else {
      scratch.push_back(c);
    }
  }
  end_segment(scratch, segment, /*last=*/true);
  return std::string_view(scratch);
}

bool is_unsupported_version(std::string_view request_line) {
  if (request_line.size() < 9) return false;
  const std::string_view v = request_line.substr(request_line.size() - 9);
  if (v.substr(0, 6) != " HTTP/" || !is_digit(v[6]) || v[7] != '.' || !is_digit(v[8])) {
    return false;
  }
  return !(v[6] == '1' && (v[8] == '0' || v[8] == '1'));
}

bool is_last_chunk(std::string_view line) {
  size_t digits = 0;
  while (digits < line.size() && is_hex_digit(line[digits])) {
    if (line[digits] != '0') return false;
    ++digits;
  }
  return digits > 0;
}

BlockScanner::Result BlockScanner::scan(std::string_view in, uint64_t limit) {
  const size_t window = static_cast<size_t>(std::min<uint64_t>(in.size(), limit));
  while (pos_ < window) {
    const void* hit = std::memchr(in.data() + pos_, '\n', window - pos_);
    if (hit == nullptr) {
      pos_ = window;
      break;
    }
    const size_t lf = static_cast<size_t>(static_cast<const char*>(hit) - in.data());
    if (lf == 0 || in[lf - 1] != '\r') return Result::kBareLf;
    if (lf == line_start_ + 1) {  // a blank line
      if (!skip_leading_ || first_line_end_ != 0) return Result::kFound;
      lead_ = line_start_ = pos_ = lf + 1;
      continue;
    }
    // A line starting with SP or HTAB continues the previous one (obs-fold, RFC 9112 §5.2).
    if (lf + 1 == in.size()) {
      pos_ = lf;  // look at this LF again once the next byte is here
      return Result::kNeedMore;
    }
    if (is_ows(in[lf + 1])) return Result::kObsFold;
    if (first_line_end_ == 0) first_line_end_ = lf + 1;
    line_start_ = pos_ = lf + 1;
  }
  return !in.empty() && window == limit ? Result::kTooLarge : Result::kNeedMore;
}

}  // namespace ringlb::http
