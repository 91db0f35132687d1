// The retry rules. Nothing sent yet: another backend, once. Sent: only a request that is
// idempotent, has no body, and of whose response no byte reached the client, and only on a
// reused connection, where the failure may be the pool's (the backend closed it as the request
// arrived) rather than the backend's. A fresh connection that fails after the request went out
// is the backend's failure: 502, as nginx's default does for non-idempotent requests and
// HAProxy's `retry-on conn-failure` does for anything sent.
#include "core/proxy/retry_policy.hpp"

namespace ringlb {
namespace {

using health::Outcome;

RetryDecision fail(Outcome outcome, unsigned status, const char* reason) {
  return {RetryAction::kFail, outcome, status, reason};
}

RetryDecision before_sending(const AttemptFacts& facts) {
  const bool tls = facts.failure == AttemptFailure::kTlsHandshake;
  const Outcome outcome = facts.failure == AttemptFailure::kConnectTimeout
                              ? Outcome::kConnectTimeout
                              : Outcome::kConnectFailed;
  // A backend that does not speak TLS as configured is a bad gateway; one that cannot be
  // reached leaves the service unavailable.
  const RetryDecision no_retry = tls ? fail(outcome, 502, "TLS handshake with the backend failed")
                                     : fail(outcome, 503, "backend connect failed");
  // An operation still pending (a receive when a handshake timed out) points into the channel
  // a retry would free.
  if (facts.operation_in_flight || facts.backends_tried >= kMaxBackendsTried) return no_retry;
  return {RetryAction::kAnotherBackend, outcome, no_retry.status, no_retry.reason};
}

const char* closed_reason(const AttemptFacts& facts) {
  if (facts.failure == AttemptFailure::kSendFailed)
    return "backend closed the connection while the request was sent";
  if (facts.response_bytes_received) {
    return facts.failure == AttemptFailure::kReset ? "backend reset the connection mid-head"
                                                   : "backend closed the connection mid-head";
  }
  return facts.failure == AttemptFailure::kReset
             ? "backend reset the connection before responding"
             : "backend closed the connection before responding";
}

RetryDecision after_sending(const AttemptFacts& facts) {
  // A reused connection closed with nothing received is a stale pool entry (the backend's idle
  // timeout met our request), not a failure of the backend; part of a head is one.
  const bool stale = facts.reused_connection && !facts.response_bytes_received;
  const Outcome outcome = stale ? Outcome::kSuccess : Outcome::kReset;
  const char* reason = closed_reason(facts);
  if (facts.response_reached_client || !facts.reused_connection || !facts.replayable ||
      facts.operation_in_flight || facts.resends >= kMaxResends) {
    return fail(outcome, 502, reason);
  }
  return {RetryAction::kNewConnection, outcome, 0, reason};
}

}  // namespace

RetryDecision decide_retry(const AttemptFacts& facts) {
  switch (facts.failure) {
    case AttemptFailure::kConnectFailed:
    case AttemptFailure::kConnectTimeout:
    case AttemptFailure::kTlsHandshake:
      return before_sending(facts);
    case AttemptFailure::kSendFailed:
    case AttemptFailure::kClosed:
    case AttemptFailure::kReset:
      return after_sending(facts);
  }
  return fail(Outcome::kReset, 502, "backend failed");
}

bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

}  // namespace ringlb
