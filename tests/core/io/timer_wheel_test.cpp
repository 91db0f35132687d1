// The timer wheel must never fire early, fire at most a tick late, and survive long pauses.
#include "core/io/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace ringlb {
namespace {

using namespace std::chrono_literals;
using Clock = TimerWheel::Clock;

std::vector<int> fired_ids(TimerWheel& wheel, Clock::time_point now) {
  std::vector<int> fired;
  wheel.advance(now, [&](TimerNode& node) { fired.push_back(static_cast<int>(node.owner.slot)); });
  return fired;
}

TEST(TimerWheel, FiresNotBeforeTheDeadlineAndWithinOneTick) {
  const auto start = Clock::now();
  TimerWheel wheel(10ms, 64, start);
  TimerNode node;
  node.owner.slot = 1;
  wheel.schedule(node, start + 100ms);
  EXPECT_TRUE(fired_ids(wheel, start + 99ms).empty());
  EXPECT_EQ(fired_ids(wheel, start + 110ms), std::vector<int>{1});
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, DeadlinesBeyondOneTurnWaitForTheirTurn) {
  const auto start = Clock::now();
  TimerWheel wheel(10ms, 8, start);  // one turn = 80ms
  TimerNode node;
  node.owner.slot = 7;
  wheel.schedule(node, start + 500ms);
  for (auto t = 10ms; t < 500ms; t += 10ms) EXPECT_TRUE(fired_ids(wheel, start + t).empty());
  EXPECT_EQ(fired_ids(wheel, start + 510ms), std::vector<int>{7});
}

TEST(TimerWheel, CancelledTimersNeverFire) {
  const auto start = Clock::now();
  TimerWheel wheel(10ms, 64, start);
  TimerNode node;
  node.owner.slot = 1;
  wheel.schedule(node, start + 20ms);
  wheel.cancel(node);
  EXPECT_TRUE(fired_ids(wheel, start + 1s).empty());
}

TEST(TimerWheel, RescheduleMovesTheDeadline) {
  const auto start = Clock::now();
  TimerWheel wheel(10ms, 64, start);
  TimerNode node;
  node.owner.slot = 3;
  wheel.schedule(node, start + 20ms);
  wheel.schedule(node, start + 200ms);
  EXPECT_TRUE(fired_ids(wheel, start + 100ms).empty());
  EXPECT_EQ(fired_ids(wheel, start + 220ms), std::vector<int>{3});
}

TEST(TimerWheel, ALongPauseFiresEverythingDueOnce) {
  const auto start = Clock::now();
  TimerWheel wheel(10ms, 16, start);
  std::vector<int> ids = {0, 1, 2, 3, 4};
  std::vector<TimerNode> nodes(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    nodes[i].owner.slot = static_cast<uint32_t>(ids[i]);
    wheel.schedule(nodes[i], start + std::chrono::milliseconds(50 * (i + 1)));
  }
  std::vector<int> fired = fired_ids(wheel, start + 10s);
  std::sort(fired.begin(), fired.end());
  EXPECT_EQ(fired, ids);
}

TEST(TimerWheel, CallbackMayRescheduleItsOwnNode) {
  const auto start = Clock::now();
  TimerWheel wheel(10ms, 16, start);
  int fired = 0;
  TimerNode node;
  wheel.schedule(node, start + 10ms);
  wheel.advance(start + 30ms, [&](TimerNode& n) {
    ++fired;
    wheel.schedule(n, start + 100ms);
  });
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(wheel.size(), 1u);
  wheel.advance(start + 120ms, [&](TimerNode&) { ++fired; });
  EXPECT_EQ(fired, 2);
}

// The owner's lifetime rule is in the type: a node that goes away takes itself off the wheel, so
// the wheel never fires into freed memory.
TEST(TimerWheel, ANodeDestroyedWhileScheduledNeverFires) {
  const auto start = Clock::now();
  TimerWheel wheel(10ms, 16, start);
  TimerNode kept;
  kept.owner.slot = 2;
  wheel.schedule(kept, start + 20ms);
  {
    TimerNode gone;
    gone.owner.slot = 1;
    wheel.schedule(gone, start + 20ms);
    EXPECT_EQ(wheel.size(), 2u);
  }
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(fired_ids(wheel, start + 1s), std::vector<int>{2});
}

TEST(TimerWheel, AFiringCallbackMayDestroyAnotherExpiredNode) {
  const auto start = Clock::now();
  TimerWheel wheel(10ms, 16, start);
  auto first = std::make_unique<TimerNode>();
  auto second = std::make_unique<TimerNode>();
  wheel.schedule(*first, start + 20ms);
  wheel.schedule(*second, start + 20ms);
  int fired = 0;
  wheel.advance(start + 1s, [&](TimerNode& node) {
    ++fired;
    (&node == first.get() ? second : first).reset();
  });
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, ANodeMayOutliveItsWheel) {
  TimerNode node;
  {
    TimerWheel wheel(10ms, 16, Clock::now());
    wheel.schedule(node, Clock::now() + 1s);
  }
  EXPECT_FALSE(node.linked());
}

}  // namespace
}  // namespace ringlb
