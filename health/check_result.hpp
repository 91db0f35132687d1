// What one active check found, as a kind (HAProxy's L4CON, L4TOUT, L7TOUT, L7RSP, L7STS) plus the
// few values its reason needs. Plain values, no strings: a probe reports one of these and the
// state machine turns it into the words of a transition ("connect refused", "status 503").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ringlb::health {

enum class ResultKind : uint8_t {
  kPass,
  kConnectFailed,    // L4CON: refused, unreachable, reset during the handshake
  kConnectTimeout,   // L4TOUT: no connection within the timeout
  kResponseTimeout,  // L7TOUT: connected, but no complete answer within the timeout
  kBadResponse,      // L7RSP: the peer closed early or did not speak HTTP
  kBadStatus,        // L7STS: a status outside expect_status
  kBodyMismatch,     // L7STS too in HAProxy: the status was fine, expect_body was not found
  kTlsFailed,        // L6RSP: the TLS handshake (certificate verification included) failed
};

// HAProxy's name for the kind ("L4CON", ...), for logs that operators grep.
const char* layer_name(ResultKind kind);

struct CheckResult {
  ResultKind kind = ResultKind::kPass;
  int error = 0;                         // errno of a failed connect, send or receive; 0 = none
  uint16_t status = 0;                   // the HTTP status seen, when there was one
  std::chrono::milliseconds timeout{0};  // the probe's timeout, for the timeout kinds

  bool passed() const { return kind == ResultKind::kPass; }

  static CheckResult pass(uint16_t status = 0) { return {ResultKind::kPass, 0, status, {}}; }
  static CheckResult connect_failed(int error) {
    return {ResultKind::kConnectFailed, error, 0, {}};
  }
  static CheckResult timed_out(ResultKind kind, std::chrono::milliseconds timeout) {
    return {kind, 0, 0, timeout};
  }
};

// The reason in words: "check passed (status 200)", "connect refused", "timeout after 1s
// (connect)", "status 503", "body mismatch", "bad response: connection closed". Allocates.
std::string describe(const CheckResult& result);

// "1s", "250ms", "1.5s", "2m": how durations appear in reasons and logs.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace ringlb::health
