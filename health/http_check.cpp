// The HTTP check's bytes and verdicts. Only what a health check needs of HTTP: a status line, the
// end of the head, and Content-Length to know when a body is complete.
#include "health/http_check.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ringlb::health {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<uint16_t> parse_code(std::string_view text) {
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value > 999) return std::nullopt;
  return static_cast<uint16_t>(value);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

}  // namespace

std::vector<StatusRange> parse_status_ranges(std::string_view text) {
  std::vector<StatusRange> ranges;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t dash = item.find('-');
    auto low = parse_code(trim(item.substr(0, dash)));
    auto high = dash == std::string_view::npos ? low : parse_code(trim(item.substr(dash + 1)));
    if (low && high && *low <= *high) ranges.push_back({*low, *high});
  }
  return ranges;
}

bool status_expected(const std::vector<StatusRange>& ranges, unsigned status) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const StatusRange& range) {
    return status >= range.low && status <= range.high;
  });
}

std::string build_check_request(const HttpCheckSpec& spec, std::string_view address) {
  std::string request = "GET " + spec.path + " HTTP/1.1\r\nHost: ";
  request += spec.host.empty() ? address : std::string_view(spec.host);
  request += "\r\nUser-Agent: ringlb-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  return request;
}

void HttpResponseCheck::reset() {
  buffer_.resize(kCapacity);
  used_ = 0;
  status_ = 0;
  body_start_ = 0;
  content_length_.reset();
}

std::span<char> HttpResponseCheck::space() { return std::span<char>(buffer_).subspan(used_); }

std::optional<CheckResult> HttpResponseCheck::received(size_t count) {
  used_ = std::min(buffer_.size(), used_ + count);
  return judge(/*complete=*/false);
}

CheckResult HttpResponseCheck::closed() {
  if (auto verdict = judge(/*complete=*/true)) return *verdict;
  return {ResultKind::kBadResponse, 0, status_, {}};
}

bool HttpResponseCheck::parse_status_line() {
  const std::string_view data(buffer_.data(), used_);
  const size_t end = data.find("\r\n");
  if (end == std::string_view::npos) return false;
  const std::string_view line = data.substr(0, end);
  // "HTTP/1.1 200 OK": the version, one space, three digits, then a space or the end.
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ' ||
      (line.size() > 12 && line[12] != ' ')) {
    return false;
  }
  auto code = parse_code(line.substr(9, 3));
  if (!code || *code < 100 || *code > 599) return false;
  status_ = *code;
  return true;
}

void HttpResponseCheck::parse_head_end() {
  const std::string_view data(buffer_.data(), used_);
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return;
  body_start_ = end + 4;
  std::string_view head = data.substr(0, end);
  while (!head.empty()) {
    const size_t line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !iequals(line.substr(0, colon), "content-length")) {
      continue;
    }
    const std::string_view value = trim(line.substr(colon + 1));
    size_t length = 0;
    auto [ptr, error] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (error == std::errc() && ptr == value.data() + value.size()) content_length_ = length;
  }
}

std::optional<CheckResult> HttpResponseCheck::judge(bool complete) {
  if (status_ == 0 && !parse_status_line()) {
    // No status yet: wait for more bytes unless they can no longer make one.
    const std::string_view data(buffer_.data(), used_);
    const bool line_ended = data.find("\r\n") != std::string_view::npos;
    const bool not_http = !std::string_view("HTTP/1.").starts_with(data.substr(0, 7));
    if (complete || used_ == buffer_.size() || line_ended || not_http) {
      return CheckResult{ResultKind::kBadResponse, 0, 0, {}};
    }
    return std::nullopt;
  }
  if (!status_expected(spec_->expect_status, status_)) {
    return CheckResult{ResultKind::kBadStatus, 0, status_, {}};
  }
  if (spec_->expect_body.empty()) return CheckResult::pass(status_);
  return judge_body(complete);
}

std::optional<CheckResult> HttpResponseCheck::judge_body(bool complete) {
  if (body_start_ == 0) parse_head_end();
  const bool full = used_ == buffer_.size();
  if (body_start_ == 0) {
    if (complete || full) return CheckResult{ResultKind::kBodyMismatch, 0, status_, {}};
    return std::nullopt;
  }
  const std::string_view body(buffer_.data() + body_start_, used_ - body_start_);
  if (body.find(spec_->expect_body) != std::string_view::npos) return CheckResult::pass(status_);
  const bool body_done = content_length_ && body.size() >= *content_length_;
  if (complete || full || body_done) return CheckResult{ResultKind::kBodyMismatch, 0, status_, {}};
  return std::nullopt;
}

}  // namespace ringlb::health
