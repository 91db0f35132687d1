// What every algorithm shares through the Balancer base: panic mode ("fail" picks nothing,
// "serve_all" picks past health but never past a drain) and slow start (round robin, least
// connections and random follow the effective weight; consistent hashing does not).
#include "balancers/balancer.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "balancers/registry.hpp"
#include "tests/balancers/pool_helpers.hpp"

namespace ringlb::balancers {
namespace {

class EveryAlgorithm : public ::testing::TestWithParam<std::string> {
 protected:
  // Four backends of weight 1 with a shared pool state; consistent_hash hashes the uri.
  std::unique_ptr<Balancer> make(std::shared_ptr<health::PoolHealth> pool) {
    BalancerInit init = lettered_pool({1, 1, 1, 1});
    init.pool_health = std::move(pool);
    init.random_seed = 7;
    init.maglev_table_size = 401;
    init.hash_key = parse_hash_key("uri");
    return builtin_balancers().make(GetParam(), std::move(init));
  }
  PickContext context(uint64_t key) { return {.worker = 0, .excluded = {}, .key_hash = key}; }
};

TEST_P(EveryAlgorithm, PanicFailPicksNothing) {
  auto pool = std::make_shared<health::PoolHealth>();
  auto balancer = make(pool);
  ASSERT_NE(balancer->pick(context(1)), kNoBackend);
  pool->set_panic(health::PanicMode::kFail);
  for (uint64_t key = 0; key < 50; ++key) EXPECT_EQ(balancer->pick(context(key)), kNoBackend);
  pool->set_panic(health::PanicMode::kNone);
  EXPECT_NE(balancer->pick(context(1)), kNoBackend);
}

TEST_P(EveryAlgorithm, PanicServeAllPicksDownAndEjectedBackendsButNotDrainedOnes) {
  auto pool = std::make_shared<health::PoolHealth>();
  auto balancer = make(pool);
  const auto& backends = balancer->backends();
  backends[0].state->set_up(false);
  backends[1].state->set_ejected(true);
  backends[2].state->set_draining(true);
  backends[3].state->set_up(false);
  EXPECT_EQ(balancer->pick(context(1)), kNoBackend);  // not in panic: nothing eligible
  pool->set_panic(health::PanicMode::kServeAll);
  std::vector<int> seen(4, 0);
  for (uint64_t key = 0; key < 400; ++key) {
    const uint32_t index = balancer->pick(context(key * 0x9E3779B97F4A7C15ull));
    ASSERT_NE(index, kNoBackend);
    ++seen[index];
  }
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[1], 0);
  EXPECT_EQ(seen[2], 0) << "a drained backend stays out even in panic";
  EXPECT_GT(seen[3], 0);
}

INSTANTIATE_TEST_SUITE_P(Balancers, EveryAlgorithm,
                         ::testing::Values("round_robin", "least_connections", "random",
                                           "consistent_hash"));

// Share of `picks` picks that went to backend 0 when its slow start weight is `permille`.
double first_backend_share(const std::string& algorithm, uint32_t permille, uint32_t choices = 0) {
  BalancerInit init = lettered_pool({1, 1, 1, 1});
  init.random_seed = 11;
  init.choices = choices;
  init.backends[0].state->set_weight_permille(permille);
  auto balancer = builtin_balancers().make(algorithm, std::move(init));
  constexpr int kPicks = 40000;
  int first = 0;
  for (int i = 0; i < kPicks; ++i) {
    const uint32_t index = balancer->pick({.worker = 0, .excluded = {}});
    if (index == 0) ++first;
  }
  return double(first) / kPicks;
}

TEST(SlowStart, RoundRobinGivesTheRampingBackendItsShareExactly) {
  // Effective weights 0.25 : 1 : 1 : 1 → 0.25 / 3.25 of the picks.
  EXPECT_NEAR(first_backend_share("round_robin", 250), 0.25 / 3.25, 0.001);
  EXPECT_NEAR(first_backend_share("round_robin", 1000), 0.25, 0.001);
}

TEST(SlowStart, RandomFollowsTheEffectiveWeight) {
  EXPECT_NEAR(first_backend_share("random", 250), 0.25 / 3.25, 0.01);
  EXPECT_NEAR(first_backend_share("random", 10), 0.01 / 3.01, 0.003);
}

TEST(SlowStart, LeastConnectionsTiesFollowTheEffectiveWeight) {
  // With no connection open every backend ties, and ties go by smooth weighted round robin.
  EXPECT_NEAR(first_backend_share("least_connections", 250), 0.25 / 3.25, 0.001);
}

TEST(SlowStart, LeastConnectionsHoldsTheRampingBackendToItsShareOfTheLoad) {
  BalancerInit init = lettered_pool({1, 1});
  init.backends[0].state->set_weight_permille(100);  // a tenth of b's weight
  auto balancer = builtin_balancers().make("least_connections", std::move(init));
  // Open 22 connections, each on the least loaded per unit of effective weight.
  for (int i = 0; i < 22; ++i) {
    balancer->backends()[balancer->pick({.worker = 0, .excluded = {}})].state->on_start();
  }
  EXPECT_EQ(balancer->backends()[0].state->active(), 2u);
  EXPECT_EQ(balancer->backends()[1].state->active(), 20u);
}

TEST(SlowStart, ConsistentHashingIgnoresIt) {
  BalancerInit init = lettered_pool({1, 1, 1, 1});
  init.maglev_table_size = 401;
  init.hash_key = parse_hash_key("uri");
  auto full = builtin_balancers().make("consistent_hash", init);
  init.backends[0].state->set_weight_permille(10);
  auto ramping = builtin_balancers().make("consistent_hash", init);
  for (uint64_t key = 0; key < 1000; ++key) {
    const uint64_t hash = key * 0x9E3779B97F4A7C15ull;
    ASSERT_EQ(pick_key(*full, hash), pick_key(*ramping, hash)) << "keys must not move";
  }
}

TEST(Verdicts, ExplainNamesEjectedAndPanic) {
  EXPECT_STREQ(to_string(Verdict::kEjected), "ejected");
  EXPECT_STREQ(to_string(Verdict::kPanicFail), "pool in panic (panic = \"fail\")");
}

}  // namespace
}  // namespace ringlb::balancers
