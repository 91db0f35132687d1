// What to do after an attempt to reach a backend failed: try another backend, send the request
// again on a new connection to the same backend, or give up. A pure function of what happened to
// the attempt, so every retry rule (spec.md "Proxy behaviour", http-hardening.md "Retries") is
// written and tested in one place; HttpSession only gathers the facts and carries out the action.
#pragma once

#include <cstdint>
#include <string_view>

#include "health/backend_state.hpp"

namespace ringlb {

enum class AttemptFailure {
  kConnectFailed,   // the connect was refused or failed: nothing was sent
  kConnectTimeout,  // the connect timed out: nothing was sent
  kTlsHandshake,    // the TLS handshake with the backend failed or timed out: nothing was sent
  kSendFailed,      // sending the request failed: the backend may hold part of it
  kClosed,          // the backend closed the connection before a complete response head
  kReset,           // ... or reset it
};

// Everything the decision depends on; the session fills it in when an attempt fails.
struct AttemptFacts {
  AttemptFailure failure = AttemptFailure::kConnectFailed;
  bool reused_connection = false;        // the connection came from the idle pool
  bool response_bytes_received = false;  // some bytes of a response arrived in this attempt
  bool response_reached_client = false;  // some byte of a response (a 1xx too) went to the client
  // The request is idempotent and has no body, so the kept head is all of it and sending it
  // again is allowed (RFC 9110 §9.2.2).
  bool replayable = false;
  bool operation_in_flight = false;  // a send or receive on the connection is still pending
  uint32_t backends_tried = 0;       // backends picked so far, the failed one included
  uint32_t resends = 0;              // times the request already went out again on a new connection
};

enum class RetryAction {
  kAnotherBackend,  // pick a backend not yet tried; `status` when none is left
  kNewConnection,   // the same backend, on a new connection
  kFail,            // answer `status`, or close when the response has already begun
};

struct RetryDecision {
  RetryAction action = RetryAction::kFail;
  health::Outcome outcome = health::Outcome::kSuccess;  // for passive health: how the attempt went
  unsigned status = 0;      // with kFail; with kAnotherBackend, the answer when none is left
  const char* reason = "";  // short, static, for the log line and the access log
};

// spec.md: a request is tried on two backends at most; a reused connection that fails is
// replaced twice at most (a third would be the backend's doing, not a stale pool).
inline constexpr uint32_t kMaxBackendsTried = 2;
inline constexpr uint32_t kMaxResends = 2;

RetryDecision decide_retry(const AttemptFacts& facts);

// GET, HEAD, OPTIONS, TRACE, PUT, DELETE (RFC 9110 §9.2.2).
bool is_idempotent(std::string_view method);

}  // namespace ringlb
