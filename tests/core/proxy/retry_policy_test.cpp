// The retry rules, one test per retry path (issue 15): what each kind of failed attempt leads to,
// and which facts forbid sending a request again.
#include "core/proxy/retry_policy.hpp"

#include <gtest/gtest.h>

namespace ringlb {
namespace {

using health::Outcome;

// A GET with no body on its first backend, nothing received, nothing sent to the client.
AttemptFacts first_get(AttemptFailure failure) {
  return {.failure = failure, .replayable = true, .backends_tried = 1};
}

TEST(RetryPolicy, ARefusedConnectIsTriedOnAnotherBackendOnce) {
  AttemptFacts facts = first_get(AttemptFailure::kConnectFailed);
  facts.replayable = false;  // nothing was sent: a POST with a body may go elsewhere too
  RetryDecision decision = decide_retry(facts);
  EXPECT_EQ(decision.action, RetryAction::kAnotherBackend);
  EXPECT_EQ(decision.outcome, Outcome::kConnectFailed);
  EXPECT_EQ(decision.status, 503u) << "the answer when no other backend is left";

  facts.backends_tried = kMaxBackendsTried;
  decision = decide_retry(facts);
  EXPECT_EQ(decision.action, RetryAction::kFail);
  EXPECT_EQ(decision.status, 503u);
}

TEST(RetryPolicy, AConnectTimeoutIsTriedOnAnotherBackendAndToldToHealthAsATimeout) {
  const RetryDecision decision = decide_retry(first_get(AttemptFailure::kConnectTimeout));
  EXPECT_EQ(decision.action, RetryAction::kAnotherBackend);
  EXPECT_EQ(decision.outcome, Outcome::kConnectTimeout);
}

TEST(RetryPolicy, AFailedTlsHandshakeIsTriedOnAnotherBackendThenIs502) {
  AttemptFacts facts = first_get(AttemptFailure::kTlsHandshake);
  EXPECT_EQ(decide_retry(facts).action, RetryAction::kAnotherBackend);
  EXPECT_EQ(decide_retry(facts).outcome, Outcome::kConnectFailed);
  EXPECT_EQ(decide_retry(facts).status, 502u) << "the answer when no other backend is left";
  facts.backends_tried = kMaxBackendsTried;
  EXPECT_EQ(decide_retry(facts).action, RetryAction::kFail);
  EXPECT_EQ(decide_retry(facts).status, 502u);
}

TEST(RetryPolicy, AFailedTlsHandshakeWithAReceiveStillPendingIs502) {
  AttemptFacts facts = first_get(AttemptFailure::kTlsHandshake);
  facts.operation_in_flight = true;  // a handshake timeout while a receive waits
  const RetryDecision decision = decide_retry(facts);
  EXPECT_EQ(decision.action, RetryAction::kFail);
  EXPECT_EQ(decision.status, 502u);
}

TEST(RetryPolicy, AStaleReusedConnectionIsReplacedAndIsNotTheBackendsFault) {
  for (AttemptFailure failure :
       {AttemptFailure::kClosed, AttemptFailure::kReset, AttemptFailure::kSendFailed}) {
    AttemptFacts facts = first_get(failure);
    facts.reused_connection = true;
    const RetryDecision decision = decide_retry(facts);
    EXPECT_EQ(decision.action, RetryAction::kNewConnection) << static_cast<int>(failure);
    EXPECT_EQ(decision.outcome, Outcome::kSuccess) << static_cast<int>(failure);
  }
}

TEST(RetryPolicy, AStaleReusedConnectionIsReplacedTwiceAtMost) {
  AttemptFacts facts = first_get(AttemptFailure::kClosed);
  facts.reused_connection = true;
  facts.resends = kMaxResends;
  const RetryDecision decision = decide_retry(facts);
  EXPECT_EQ(decision.action, RetryAction::kFail);
  EXPECT_EQ(decision.status, 502u);
}

TEST(RetryPolicy, PartOfAHeadOnAReusedConnectionIsAFailedAttemptRetriedForAGet) {
  AttemptFacts facts = first_get(AttemptFailure::kClosed);
  facts.reused_connection = true;
  facts.response_bytes_received = true;
  const RetryDecision decision = decide_retry(facts);
  EXPECT_EQ(decision.action, RetryAction::kNewConnection);
  EXPECT_EQ(decision.outcome, Outcome::kReset) << "passive health must see it";
}

TEST(RetryPolicy, ARequestThatIsNotReplayableIsNeverSentTwice) {
  for (bool received : {false, true}) {
    AttemptFacts facts = first_get(AttemptFailure::kClosed);
    facts.reused_connection = true;
    facts.response_bytes_received = received;
    facts.replayable = false;  // a POST, or any request with a body
    const RetryDecision decision = decide_retry(facts);
    EXPECT_EQ(decision.action, RetryAction::kFail) << "received " << received;
    EXPECT_EQ(decision.status, 502u);
  }
}

TEST(RetryPolicy, NothingIsSentAgainOnceAByteOfTheResponseReachedTheClient) {
  AttemptFacts facts = first_get(AttemptFailure::kClosed);
  facts.reused_connection = true;
  facts.response_bytes_received = true;
  facts.response_reached_client = true;  // a 1xx was relayed
  EXPECT_EQ(decide_retry(facts).action, RetryAction::kFail);
}

TEST(RetryPolicy, AFreshConnectionThatFailsAfterTheRequestWentOutIs502) {
  for (AttemptFailure failure :
       {AttemptFailure::kClosed, AttemptFailure::kReset, AttemptFailure::kSendFailed}) {
    const RetryDecision decision = decide_retry(first_get(failure));
    EXPECT_EQ(decision.action, RetryAction::kFail) << static_cast<int>(failure);
    EXPECT_EQ(decision.status, 502u);
    EXPECT_EQ(decision.outcome, Outcome::kReset);
  }
}

TEST(RetryPolicy, AnOperationStillInFlightForbidsReusingTheAttemptsBuffers) {
  AttemptFacts facts = first_get(AttemptFailure::kSendFailed);
  facts.reused_connection = true;
  facts.operation_in_flight = true;
  EXPECT_EQ(decide_retry(facts).action, RetryAction::kFail);
}

TEST(RetryPolicy, IdempotentMethodsAreThoseOfRfc9110) {
  for (const char* method : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    EXPECT_TRUE(is_idempotent(method)) << method;
  }
  for (const char* method : {"POST", "PATCH", "CONNECT", "get"}) {
    EXPECT_FALSE(is_idempotent(method)) << method;
  }
}

}  // namespace
}  // namespace ringlb
