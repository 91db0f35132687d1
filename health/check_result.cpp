// Reasons in words for check results: the text a transition log line and /status carry.
#include "health/check_result.hpp"

#include <cerrno>
#include <cstring>

namespace ringlb::health {

const char* layer_name(ResultKind kind) {
  switch (kind) {
    case ResultKind::kPass:
      return "OK";
    case ResultKind::kConnectFailed:
      return "L4CON";
    case ResultKind::kConnectTimeout:
      return "L4TOUT";
    case ResultKind::kResponseTimeout:
      return "L7TOUT";
    case ResultKind::kBadResponse:
      return "L7RSP";
    case ResultKind::kBadStatus:
    case ResultKind::kBodyMismatch:
      return "L7STS";
    case ResultKind::kTlsFailed:
      return "L6RSP";
  }
  return "?";
}

std::string format_duration(std::chrono::milliseconds duration) {
  const long long ms = duration.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  // One decimal is enough to tell 1.2s from 1.5s; the log has the exact times.
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s";
}

namespace {

std::string connect_reason(int error) {
  switch (error) {
    case ECONNREFUSED:
      return "connect refused";
    case ECONNRESET:
      return "connect reset";
    case EHOSTUNREACH:
    case ENETUNREACH:
      return "connect failed: no route to host";
    default:
      return std::string("connect failed: ") + std::strerror(error);
  }
}

}  // namespace

std::string describe(const CheckResult& result) {
  switch (result.kind) {
    case ResultKind::kPass:
      if (result.status != 0) return "check passed (status " + std::to_string(result.status) + ")";
      return "check passed";
    case ResultKind::kConnectFailed:
      return connect_reason(result.error);
    case ResultKind::kConnectTimeout:
      return "timeout after " + format_duration(result.timeout) + " (connect)";
    case ResultKind::kResponseTimeout:
      return "timeout after " + format_duration(result.timeout) + " (response)";
    case ResultKind::kBadResponse:
      if (result.error != 0) return std::string("bad response: ") + std::strerror(result.error);
      return "bad response: not HTTP or closed early";
    case ResultKind::kBadStatus:
      return "status " + std::to_string(result.status);
    case ResultKind::kBodyMismatch:
      return "body mismatch (status " + std::to_string(result.status) + ")";
    case ResultKind::kTlsFailed:
      return "TLS failed (OpenSSL's reason is logged just before)";
  }
  return "?";
}

}  // namespace ringlb::health
