// The per-backend state machine: rise/fall damping, the first verdict, initial states, flapping,
// ejection and drain on top, and the reason and duration each transition carries.
#include "health/backend_health.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace ringlb::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kStart{};
const CheckResult kPass = CheckResult::pass(200);
const CheckResult kRefused = CheckResult::connect_failed(ECONNREFUSED);

TEST(BackendHealth, StartsUpByDefaultAndUnknownWhenAsked) {
  EXPECT_EQ(BackendHealth(State::kUp, {}, kStart).state(), State::kUp);
  EXPECT_TRUE(BackendHealth(State::kUp, {}, kStart).eligible());
  BackendHealth unknown(State::kUnknown, {}, kStart);
  EXPECT_EQ(unknown.state(), State::kUnknown);
  EXPECT_FALSE(unknown.eligible());
}

TEST(BackendHealth, TheFirstResultDecidesAlone) {
  BackendHealth assumed_up(State::kUp, {.rise = 2, .fall = 3}, kStart);
  auto down = assumed_up.on_check(kRefused, kStart + seconds(1));
  ASSERT_TRUE(down);
  EXPECT_EQ(down->from, State::kUp);
  EXPECT_EQ(down->to, State::kDown);
  EXPECT_EQ(down->reason, "connect refused (first check)");

  BackendHealth unknown(State::kUnknown, {.rise = 5, .fall = 3}, kStart);
  auto up = unknown.on_check(kPass, kStart + seconds(1));
  ASSERT_TRUE(up);
  EXPECT_EQ(up->from, State::kUnknown);
  EXPECT_EQ(up->to, State::kUp);
  EXPECT_EQ(up->reason, "check passed (status 200) (first check)");
}

TEST(BackendHealth, APassingFirstCheckOfAnAssumedUpBackendIsNoTransition) {
  BackendHealth health(State::kUp, {}, kStart);
  EXPECT_FALSE(health.on_check(kPass, kStart));
  EXPECT_EQ(health.state(), State::kUp);
}

TEST(BackendHealth, FallNeedsThatManyFailuresInARow) {
  BackendHealth health(State::kUp, {.rise = 2, .fall = 3}, kStart);
  health.on_check(kPass, kStart);
  EXPECT_FALSE(health.on_check(kRefused, kStart + seconds(1)));
  EXPECT_FALSE(health.on_check(kRefused, kStart + seconds(2)));
  EXPECT_TRUE(health.changing());
  auto down = health.on_check(kRefused, kStart + seconds(3));
  ASSERT_TRUE(down);
  EXPECT_EQ(down->to, State::kDown);
  EXPECT_EQ(down->reason, "connect refused (3 failed checks in a row)");
  EXPECT_EQ(down->in_old_state, seconds(3));  // up since the start
  EXPECT_FALSE(health.changing());
}

TEST(BackendHealth, RiseNeedsThatManyPassesInARow) {
  BackendHealth health(State::kUp, {.rise = 2, .fall = 1}, kStart);
  health.on_check(kRefused, kStart + seconds(1));
  ASSERT_EQ(health.state(), State::kDown);
  EXPECT_FALSE(health.on_check(kPass, kStart + seconds(2)));
  EXPECT_EQ(health.state(), State::kDown);
  EXPECT_TRUE(health.changing());
  auto up = health.on_check(kPass, kStart + seconds(4));
  ASSERT_TRUE(up);
  EXPECT_EQ(up->from, State::kDown);
  EXPECT_EQ(up->to, State::kUp);
  EXPECT_EQ(up->in_old_state, seconds(3));
  EXPECT_EQ(up->reason, "check passed (status 200) (2 passed checks in a row)");
  EXPECT_EQ(health.recovered_at(), kStart + seconds(4));
}

TEST(BackendHealth, FlappingResultsNeverReachTheThresholds) {
  BackendHealth health(State::kUp, {.rise = 2, .fall = 2}, kStart);
  health.on_check(kPass, kStart);
  int transitions = 0;
  for (int i = 1; i <= 100; ++i) {
    const CheckResult& result = i % 2 == 0 ? kPass : kRefused;
    if (health.on_check(result, kStart + seconds(i))) ++transitions;
  }
  EXPECT_EQ(transitions, 0);
  EXPECT_EQ(health.state(), State::kUp);
}

TEST(BackendHealth, AFailureResetsTheRiseCount) {
  BackendHealth health(State::kUnknown, {.rise = 3, .fall = 1}, kStart);
  health.on_check(kRefused, kStart);
  health.on_check(kPass, kStart + seconds(1));
  health.on_check(kPass, kStart + seconds(2));
  health.on_check(kRefused, kStart + seconds(3));
  health.on_check(kPass, kStart + seconds(4));
  health.on_check(kPass, kStart + seconds(5));
  EXPECT_EQ(health.state(), State::kDown);
  EXPECT_TRUE(health.on_check(kPass, kStart + seconds(6)));
  EXPECT_EQ(health.state(), State::kUp);
}

TEST(BackendHealth, ReasonsNameWhatFailed) {
  const auto reason_of = [](const CheckResult& result) {
    BackendHealth health(State::kUp, {.rise = 1, .fall = 1}, kStart);
    return health.on_check(result, kStart)->reason;
  };
  EXPECT_EQ(reason_of(kRefused), "connect refused (first check)");
  EXPECT_EQ(reason_of(CheckResult::timed_out(ResultKind::kConnectTimeout, seconds(1))),
            "timeout after 1s (connect) (first check)");
  EXPECT_EQ(reason_of(CheckResult::timed_out(ResultKind::kResponseTimeout, milliseconds(250))),
            "timeout after 250ms (response) (first check)");
  EXPECT_EQ(reason_of({ResultKind::kBadStatus, 0, 503, {}}), "status 503 (first check)");
  EXPECT_EQ(reason_of({ResultKind::kBodyMismatch, 0, 200, {}}),
            "body mismatch (status 200) (first check)");
  EXPECT_EQ(reason_of({ResultKind::kBadResponse, 0, 0, {}}),
            "bad response: not HTTP or closed early (first check)");
  EXPECT_EQ(reason_of({ResultKind::kTlsFailed, EPROTO, 0, {}}),
            "TLS failed (OpenSSL's reason is logged just before) (first check)");
}

TEST(BackendHealth, EjectionOnlyTakesAnUpBackendAndAPassEndsItEarly) {
  BackendHealth health(State::kUp, {.rise = 2, .fall = 2}, kStart);
  auto ejected = health.eject(kStart + seconds(10), "5 consecutive failed connects or resets");
  ASSERT_TRUE(ejected);
  EXPECT_EQ(ejected->from, State::kUp);
  EXPECT_EQ(ejected->to, State::kEjected);
  EXPECT_EQ(ejected->in_old_state, seconds(10));
  EXPECT_FALSE(health.eligible());
  EXPECT_FALSE(health.eject(kStart + seconds(11), "again"));  // already out
  auto back = health.on_check(kPass, kStart + seconds(12));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, State::kUp);
  EXPECT_EQ(back->reason, "check passed (status 200), ending the ejection early");
  EXPECT_EQ(health.recovered_at(), kStart + seconds(12));

  health.on_check(kRefused, kStart + seconds(13));
  health.on_check(kRefused, kStart + seconds(14));
  ASSERT_EQ(health.state(), State::kDown);
  EXPECT_FALSE(health.eject(kStart + seconds(15), "down backends are not ejected"));
}

TEST(BackendHealth, GoingDownEndsAnEjection) {
  BackendHealth health(State::kUp, {.rise = 1, .fall = 1}, kStart);
  health.eject(kStart, "x");
  auto down = health.on_check(kRefused, kStart + seconds(1));
  ASSERT_TRUE(down);
  EXPECT_EQ(down->from, State::kEjected);
  EXPECT_EQ(down->to, State::kDown);
  EXPECT_FALSE(health.ejected());
}

TEST(BackendHealth, EjectionExpiry) {
  BackendHealth health(State::kUp, {}, kStart);
  health.eject(kStart, "x");
  auto back = health.end_ejection(kStart + seconds(30), "ejection time over");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->from, State::kEjected);
  EXPECT_EQ(back->to, State::kUp);
  EXPECT_EQ(back->in_old_state, seconds(30));
  EXPECT_FALSE(health.end_ejection(kStart + seconds(31), "not ejected"));
}

TEST(BackendHealth, DrainingWinsOverEveryOtherState) {
  BackendHealth health(State::kUp, {.rise = 1, .fall = 1}, kStart);
  auto drained = health.set_draining(true, kStart + seconds(1));
  ASSERT_TRUE(drained);
  EXPECT_EQ(drained->to, State::kDraining);
  EXPECT_FALSE(health.on_check(kRefused, kStart + seconds(2)));  // hidden under the drain
  EXPECT_EQ(health.verdict(), State::kDown);
  auto enabled = health.set_draining(false, kStart + seconds(3));
  ASSERT_TRUE(enabled);
  EXPECT_EQ(enabled->to, State::kDown);
}

TEST(BackendHealth, TurningChecksOffBringsADownBackendUp) {
  BackendHealth health(State::kUp, {.rise = 1, .fall = 1}, kStart);
  health.on_check(kRefused, kStart);
  auto up = health.stop_checking(kStart + seconds(5));
  ASSERT_TRUE(up);
  EXPECT_EQ(up->to, State::kUp);
  EXPECT_EQ(up->reason, "health checks turned off");
}

TEST(BackendHealth, WithFallOneTheReasonSaysOneCheck) {
  BackendHealth health(State::kUp, {.rise = 1, .fall = 1}, kStart);
  health.on_check(kPass, kStart);
  EXPECT_EQ(health.on_check(kRefused, kStart + seconds(1))->reason,
            "connect refused (1 failed check in a row)");
}

TEST(BackendHealth, ComingUpFromUnknownIsNotAComeback) {
  BackendHealth health(State::kUnknown, {}, kStart);
  health.on_check(kPass, kStart + seconds(1));
  EXPECT_FALSE(health.recovered_at());
}

}  // namespace
}  // namespace ringlb::health
