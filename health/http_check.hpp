// What an HTTP health check sends and how it judges the answer: the request bytes, the
// expect_status ranges, and a response reader that decides as soon as it can. Pure; the probe in
// core/probes/http_probe.cpp moves the bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "health/check_result.hpp"

namespace ringlb::health {

struct StatusRange {
  uint16_t low = 0;
  uint16_t high = 0;
  friend bool operator==(const StatusRange&, const StatusRange&) = default;
};

// "200-399", "200", "200-299,302" (spaces around items allowed). The configuration has checked
// the syntax already; an item that does not parse is skipped.
std::vector<StatusRange> parse_status_ranges(std::string_view text);
bool status_expected(const std::vector<StatusRange>& ranges, unsigned status);

struct HttpCheckSpec {
  std::string path = "/healthz";
  std::string host;  // the Host header; "" = the backend's address
  std::vector<StatusRange> expect_status = {{200, 399}};
  std::string expect_body;  // a substring the body must hold; "" = any body
  friend bool operator==(const HttpCheckSpec&, const HttpCheckSpec&) = default;
};

// "GET /healthz HTTP/1.1" with Host (spec.host, else `address`), Connection: close and a
// User-Agent naming ringlb, so backends can tell checks from traffic in their logs.
std::string build_check_request(const HttpCheckSpec& spec, std::string_view address);

// Reads one response into a fixed buffer and decides as early as the spec allows: on the status
// line when no body is expected, else once the body holds expect_body, ends, or fills the buffer.
// The body is searched as received, in the first kCapacity bytes of the response.
class HttpResponseCheck {
 public:
  static constexpr size_t kCapacity = 16 * 1024;

  explicit HttpResponseCheck(const HttpCheckSpec& spec) : spec_(&spec) {}

  // Allocates the buffer once; forgets the previous response.
  void reset();
  // Where the next received bytes go (never empty before a verdict).
  std::span<char> space();
  // `count` bytes arrived in space(). The verdict once there is one.
  std::optional<CheckResult> received(size_t count);
  // The peer closed the connection: the verdict on what came.
  CheckResult closed();

 private:
  std::optional<CheckResult> judge(bool complete);
  std::optional<CheckResult> judge_body(bool complete);
  bool parse_status_line();
  void parse_head_end();

  const HttpCheckSpec* spec_;
  std::vector<char> buffer_;
  size_t used_ = 0;
  uint16_t status_ = 0;    // 0 until the status line arrived
  size_t body_start_ = 0;  // 0 until the head ended
  std::optional<size_t> content_length_;
};

}  // namespace ringlb::health
