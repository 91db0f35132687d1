// Panic thresholds and the slow start ramp.
#include "health/pool_health.hpp"

#include <gtest/gtest.h>

namespace ringlb::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Panic, BelowTheThresholdOnly) {
  EXPECT_FALSE(in_panic(2, 4, 50));  // exactly half is not below half
  EXPECT_TRUE(in_panic(1, 4, 50));
  EXPECT_TRUE(in_panic(0, 4, 50));
  EXPECT_FALSE(in_panic(4, 4, 100));
  EXPECT_TRUE(in_panic(3, 4, 100));
}

TEST(Panic, ZeroThresholdNeverPanics) {
  EXPECT_FALSE(in_panic(0, 4, 0));
  EXPECT_FALSE(in_panic(0, 0, 50));  // an empty pool has nothing to panic about
}

TEST(Panic, PoolHealthStartsCalm) {
  PoolHealth pool;
  EXPECT_EQ(pool.panic(), PanicMode::kNone);
  pool.set_panic(PanicMode::kServeAll);
  EXPECT_EQ(pool.panic(), PanicMode::kServeAll);
}

TEST(SlowStart, RampsLinearlyFromTheFloorToFullWeight) {
  const milliseconds ramp = seconds(10);
  EXPECT_EQ(slow_start_permille(Clock::duration::zero(), ramp), kSlowStartFloorPermille);
  EXPECT_EQ(slow_start_permille(milliseconds(50), ramp), kSlowStartFloorPermille);  // 5‰: floor
  EXPECT_EQ(slow_start_permille(seconds(1), ramp), 100u);
  EXPECT_EQ(slow_start_permille(seconds(5), ramp), 500u);
  EXPECT_EQ(slow_start_permille(milliseconds(9990), ramp), 999u);
  EXPECT_EQ(slow_start_permille(seconds(10), ramp), kFullWeightPermille);
  EXPECT_EQ(slow_start_permille(seconds(60), ramp), kFullWeightPermille);
}

TEST(SlowStart, OffMeansFullWeightAtOnce) {
  EXPECT_EQ(slow_start_permille(Clock::duration::zero(), milliseconds(0)), kFullWeightPermille);
}

}  // namespace
}  // namespace ringlb::health
