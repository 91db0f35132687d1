// Passive detection: what the data path counts in BackendState, and how long ejections last.
#include "health/passive.hpp"

#include <gtest/gtest.h>

#include "health/backend_state.hpp"

namespace ringlb::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kStart{};

TEST(PassiveSignals, ConsecutiveFailuresTripAtTheThreshold) {
  BackendState state("app", "127.0.0.1:1");
  state.set_passive(3, false);
  for (int i = 0; i < 2; ++i) {
    state.on_start();
    state.on_end(Outcome::kConnectFailed);
  }
  EXPECT_EQ(state.take_trips(), 0);
  state.on_start();
  state.on_end(Outcome::kReset);
  EXPECT_EQ(state.take_trips(), kTripFailures);
  EXPECT_EQ(state.take_trips(), 0);  // taken
}

TEST(PassiveSignals, ASuccessStartsTheCountAgain) {
  BackendState state("app", "127.0.0.1:1");
  state.set_passive(2, false);
  state.on_start();
  state.on_end(Outcome::kConnectTimeout);
  state.on_start();
  state.on_end(Outcome::kSuccess);
  state.on_start();
  state.on_end(Outcome::kConnectFailed);
  EXPECT_EQ(state.take_trips(), 0);
}

TEST(PassiveSignals, ATripIsLatchedEvenIfASuccessFollowsBeforeItIsRead) {
  BackendState state("app", "127.0.0.1:1");
  state.set_passive(1, false);
  state.on_start();
  state.on_end(Outcome::kConnectFailed);
  state.on_start();
  state.on_end(Outcome::kSuccess);
  EXPECT_EQ(state.take_trips(), kTripFailures);
}

TEST(PassiveSignals, FiveHundredsCountOnlyWhenAsked) {
  BackendState state("app", "127.0.0.1:1");
  state.set_passive(2, false);
  state.on_response_status(503);
  state.on_response_status(500);
  EXPECT_EQ(state.take_trips(), 0);
  state.set_passive(2, true);
  state.on_response_status(503);
  state.on_response_status(404);  // not a 5xx: the run ends
  state.on_response_status(502);
  EXPECT_EQ(state.take_trips(), 0);
  state.on_response_status(504);
  EXPECT_EQ(state.take_trips(), kTrip5xx);
}

TEST(PassiveSignals, OffByDefault) {
  BackendState state("app", "127.0.0.1:1");
  for (int i = 0; i < 100; ++i) {
    state.on_start();
    state.on_end(Outcome::kConnectFailed);
  }
  EXPECT_EQ(state.take_trips(), 0);
  EXPECT_EQ(state.failed_attempts(), 100u);
}

TEST(PassiveSignals, ResetStartsAfresh) {
  BackendState state("app", "127.0.0.1:1");
  state.set_passive(2, false);
  state.on_start();
  state.on_end(Outcome::kConnectFailed);
  state.reset_passive_counts();
  state.on_start();
  state.on_end(Outcome::kConnectFailed);
  EXPECT_EQ(state.take_trips(), 0);
}

TEST(EjectionHistory, EachEjectionLastsLongerUpToTheCap) {
  const PassiveSettings settings{.ejection_time = seconds(10), .max_ejection_time = seconds(25)};
  EjectionHistory history;
  TimePoint now = kStart;
  EXPECT_EQ(history.start(now, settings), seconds(10));
  EXPECT_EQ(history.until(), now + seconds(10));
  history.end(now += seconds(10));
  EXPECT_EQ(history.start(now += seconds(1), settings), seconds(20));  // soon again: longer
  history.end(now += seconds(20));
  EXPECT_EQ(history.start(now += seconds(1), settings), seconds(25));  // capped
  EXPECT_EQ(history.remembered(), 3u);
}

TEST(EjectionHistory, TimeInServiceForgetsEarlierEjections) {
  const PassiveSettings settings{.ejection_time = seconds(10), .max_ejection_time = seconds(300)};
  EjectionHistory history;
  TimePoint now = kStart;
  history.start(now, settings);
  history.end(now += seconds(10));
  history.start(now, settings);
  history.end(now += seconds(20));
  ASSERT_EQ(history.remembered(), 2u);
  // 25 s in service forget two ejections: the next one is a first one again.
  EXPECT_EQ(history.start(now += seconds(25), settings), seconds(10));
  EXPECT_EQ(history.remembered(), 1u);
  history.end(now += seconds(10));
  EXPECT_FALSE(history.active());
}

TEST(EjectionLimit, APercentOfThePoolButAlwaysOne) {
  EXPECT_EQ(max_ejectable(10, 50), 5u);
  EXPECT_EQ(max_ejectable(10, 10), 1u);
  EXPECT_EQ(max_ejectable(3, 10), 1u);  // at least one
  EXPECT_EQ(max_ejectable(2, 50), 1u);
  EXPECT_EQ(max_ejectable(4, 100), 4u);
  EXPECT_EQ(max_ejectable(4, 0), 0u);  // 0 = passive never ejects
}

TEST(EjectionLimit, TripReasons) {
  EXPECT_EQ(trip_reason(kTripFailures, 5), "5 consecutive failed connects or resets");
  EXPECT_EQ(trip_reason(kTrip5xx, 3), "3 consecutive 5xx responses");
}

}  // namespace
}  // namespace ringlb::health
