// Scheduling: the jitter bound every check keeps, the spread of first checks, and which interval
// applies in which state. Time and randomness are injected, so every bound is exact.
#include "health/schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace ringlb::health {
namespace {

using std::chrono::milliseconds;

const TimePoint kStart{};

// Always the same number: the extremes of the jitter range.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(double value) : value_(value) {}
  double uniform() override { return value_; }

 private:
  double value_;
};

ScheduleSettings settings_of(milliseconds interval, uint32_t jitter_percent) {
  return {interval, interval / 2, interval * 2, jitter_percent};
}

TEST(Schedule, OverAHundredBackendsAndTenIntervalsNoTwoChecksComeCloserThanTheJitterAllows) {
  const ScheduleSettings settings = settings_of(milliseconds(2000), 10);
  const auto bound = std::chrono::duration_cast<Clock::duration>(milliseconds(1800));
  DefaultRandom random(42);
  for (int backend = 0; backend < 100; ++backend) {
    BackendHealth health(State::kUp, {}, kStart);
    TimePoint check = first_check(settings, kStart, random);
    ASSERT_GE(check, kStart);
    ASSERT_LT(check, kStart + settings.interval);
    for (int i = 0; i < 10; ++i) {
      health.on_check(CheckResult::pass(), check);  // a check that takes no time
      const TimePoint next = next_check(settings, health, check, random);
      ASSERT_GE(next - check, bound) << "backend " << backend << " check " << i;
      ASSERT_LE(next - check, std::chrono::duration_cast<Clock::duration>(milliseconds(2200)));
      check = next;
    }
  }
}

TEST(Schedule, TheJitterBoundHoldsAtTheExtremesOfTheRandomRange) {
  const ScheduleSettings settings = settings_of(milliseconds(1000), 10);
  BackendHealth health(State::kUp, {}, kStart);
  FixedRandom lowest(0.0);
  FixedRandom highest(0.9999999999);
  EXPECT_EQ(next_check(settings, health, kStart, lowest), kStart + milliseconds(900));
  EXPECT_LE(next_check(settings, health, kStart, highest), kStart + milliseconds(1100));
  EXPECT_GT(next_check(settings, health, kStart, highest), kStart + milliseconds(1099));
}

TEST(Schedule, FirstChecksOfAThousandBackendsSpreadOverTheInterval) {
  const ScheduleSettings settings = settings_of(milliseconds(1000), 10);
  DefaultRandom random(7);
  std::vector<int> per_10ms(100, 0);
  for (int backend = 0; backend < 1000; ++backend) {
    const auto offset = first_check(settings, kStart, random) - kStart;
    ++per_10ms[std::chrono::duration_cast<milliseconds>(offset).count() / 10];
  }
  // 10 expected per 10 ms slot; no slot holds a crowd, and none is far from empty either.
  EXPECT_LE(*std::max_element(per_10ms.begin(), per_10ms.end()), 30);
  EXPECT_GE(std::count_if(per_10ms.begin(), per_10ms.end(), [](int n) { return n > 0; }), 95);
}

TEST(Schedule, ZeroJitterIsExactlyTheInterval) {
  const ScheduleSettings settings = settings_of(milliseconds(500), 0);
  BackendHealth health(State::kUp, {}, kStart);
  DefaultRandom random(1);
  EXPECT_EQ(next_check(settings, health, kStart, random), kStart + milliseconds(500));
}

TEST(Schedule, FastWhileChangingSlowWhileDown) {
  const ScheduleSettings settings{milliseconds(2000), milliseconds(500), milliseconds(8000), 0};
  const CheckResult refused = CheckResult::connect_failed(ECONNREFUSED);
  BackendHealth health(State::kUp, {.rise = 2, .fall = 2}, kStart);
  health.on_check(CheckResult::pass(), kStart);
  EXPECT_EQ(base_interval(settings, health), milliseconds(2000));
  health.on_check(refused, kStart);  // one of two failures: falling
  EXPECT_EQ(base_interval(settings, health), milliseconds(500));
  health.on_check(refused, kStart);  // down
  EXPECT_EQ(base_interval(settings, health), milliseconds(8000));
  health.on_check(CheckResult::pass(), kStart);  // one of two passes: rising
  EXPECT_EQ(base_interval(settings, health), milliseconds(500));
  health.on_check(CheckResult::pass(), kStart);  // up
  EXPECT_EQ(base_interval(settings, health), milliseconds(2000));
}

TEST(Schedule, UnknownBackendsUseTheNormalInterval) {
  const ScheduleSettings settings{milliseconds(2000), milliseconds(500), milliseconds(8000), 0};
  BackendHealth health(State::kUnknown, {}, kStart);
  EXPECT_EQ(base_interval(settings, health), milliseconds(2000));
}

TEST(Schedule, DefaultRandomStaysInItsRange) {
  DefaultRandom random(3);
  for (int i = 0; i < 100000; ++i) {
    const double value = random.uniform();
    ASSERT_GE(value, 0.0);
    ASSERT_LT(value, 1.0);
  }
}

}  // namespace
}  // namespace ringlb::health
