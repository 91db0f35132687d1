// BackendAttempt: a retry never goes back to a backend already tried, and every attempt reports
// to its backend's state exactly once (the active count least-connections reads comes back).
#include "core/proxy/backend_attempt.hpp"

#include <gtest/gtest.h>

#include <cerrno>

#include "balancers/round_robin.hpp"
#include "tests/balancers/pool_helpers.hpp"

namespace ringlb {
namespace {

struct TestPool {
  explicit TestPool(uint32_t backends) {
    config.name = "pool";
    pool.config = &config;
    pool.balancer = balancers::make_round_robin(balancers::address_pool(backends));
  }
  health::BackendState& state(uint32_t index) { return *pool.balancer->backends()[index].state; }
  config::PoolConfig config;
  Pool pool;
};

TEST(BackendAttempt, ARetryPicksABackendNotTriedAndStopsAtTheLimit) {
  TestPool pools(3);
  BackendAttempt attempt;
  EXPECT_FALSE(attempt.has_backend());
  ASSERT_TRUE(attempt.pick(pools.pool, 0, std::nullopt));
  const uint32_t first = attempt.backend();
  attempt.finish(health::Outcome::kConnectFailed);
  ASSERT_TRUE(attempt.may_try_another());
  ASSERT_TRUE(attempt.pick(pools.pool, 0, std::nullopt));
  EXPECT_NE(attempt.backend(), first);
  EXPECT_EQ(attempt.backends_tried(), kMaxBackendsTried);
  EXPECT_FALSE(attempt.may_try_another());
  attempt.finish(health::Outcome::kConnectFailed);
  EXPECT_FALSE(attempt.pick(pools.pool, 0, std::nullopt));
}

TEST(BackendAttempt, WithEveryBackendTriedThereIsNoPick) {
  TestPool pools(1);
  BackendAttempt attempt;
  ASSERT_TRUE(attempt.pick(pools.pool, 0, std::nullopt));
  attempt.finish(health::Outcome::kConnectFailed);
  EXPECT_FALSE(attempt.pick(pools.pool, 0, std::nullopt));
  EXPECT_EQ(attempt.backends_tried(), 1u);
}

TEST(BackendAttempt, EachAttemptReportsItsEndOnce) {
  TestPool pools(1);
  health::BackendState& state = pools.state(0);
  BackendAttempt attempt;
  ASSERT_TRUE(attempt.pick(pools.pool, 0, std::nullopt));
  EXPECT_EQ(state.active(), 1u);
  attempt.outcome = health::Outcome::kReset;
  attempt.finish();
  attempt.finish();  // the session's release after the attempt already ended
  EXPECT_EQ(state.active(), 0u);
  EXPECT_EQ(state.failed_attempts(), 1u);
  attempt.restart();  // a new connection to the same backend starts afresh
  EXPECT_EQ(state.active(), 1u);
  EXPECT_EQ(attempt.outcome, health::Outcome::kSuccess);
  attempt.finish();
  EXPECT_EQ(state.active(), 0u);
  EXPECT_EQ(state.failed_attempts(), 1u);
}

TEST(BackendAttempt, AFailedConnectIsCountedAndATimeoutToldApart) {
  TestPool pools(1);
  BackendAttempt attempt;
  ASSERT_TRUE(attempt.pick(pools.pool, 0, std::nullopt));
  EXPECT_EQ(attempt.connect_failed(0, -ECANCELED), AttemptFailure::kConnectTimeout);
  EXPECT_EQ(attempt.connect_failed(0, -ECONNREFUSED), AttemptFailure::kConnectFailed);
  EXPECT_EQ(pools.state(0).stats(0).connect_failures.get(), 2u);
  attempt.finish(health::Outcome::kConnectFailed);
}

}  // namespace
}  // namespace ringlb
