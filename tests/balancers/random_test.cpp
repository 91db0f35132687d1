// Weighted random: shares follow the weights, a down backend's share spreads over the others in
// proportion, and a seed makes every run the same.
#include "balancers/random.hpp"

#include <gtest/gtest.h>

#include "tests/balancers/pool_helpers.hpp"

namespace ringlb::balancers {
namespace {

BalancerInit seeded(std::initializer_list<uint32_t> weights, uint64_t seed = 1) {
  BalancerInit init = lettered_pool(weights);
  init.random_seed = seed;
  return init;
}

TEST(SplitMix64, MatchesTheReferenceSequence) {
  // The first outputs for seed 0 of Vigna's splitmix64.c.
  SplitMix64 generator(0);
  EXPECT_EQ(generator.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(generator.next(), 0x6e789e6aa1b965f4ULL);
}

TEST(SplitMix64, BelowStaysInRange) {
  SplitMix64 generator(3);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 7000; ++i) ++seen[generator.below(7)];
  for (int count : seen) EXPECT_GT(count, 800);
}

TEST(Random, SharesFollowTheWeights) {
  Random balancer(seeded({3, 1, 0, 4}));
  std::vector<uint64_t> counts = pick_counts(balancer, 80000);
  // 80000 seeded draws: the sampling error of each share is below 0.2%; ±1.5% never fails.
  EXPECT_NEAR(double(counts[0]) / 80000, 3.0 / 8, 0.015);
  EXPECT_NEAR(double(counts[1]) / 80000, 1.0 / 8, 0.015);
  EXPECT_EQ(counts[2], 0u);
  EXPECT_NEAR(double(counts[3]) / 80000, 4.0 / 8, 0.015);
}

TEST(Random, ADownBackendsShareSpreadsInProportion) {
  Random balancer(seeded({1, 1, 2}));
  balancer.backends()[0].state->set_up(false);
  std::vector<uint64_t> counts = pick_counts(balancer, 60000);
  EXPECT_EQ(counts[0], 0u);
  EXPECT_NEAR(double(counts[1]) / 60000, 1.0 / 3, 0.015);
  EXPECT_NEAR(double(counts[2]) / 60000, 2.0 / 3, 0.015);
}

TEST(Random, FindsTheOnlyEligibleBackendAmongMany) {
  BalancerInit init = address_pool(1000);
  init.random_seed = 5;
  Random balancer(std::move(init));
  for (uint32_t i = 0; i < 1000; ++i) balancer.backends()[i].state->set_up(i == 999);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(balancer.pick({}), 999u);
}

TEST(Random, RetryAvoidsTriedBackends) {
  Random balancer(seeded({1, 1, 1}));
  const uint32_t tried[] = {0, 2};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(balancer.pick({.worker = 0, .excluded = tried}), 1u);
  const uint32_t all[] = {0, 1, 2};
  EXPECT_EQ(balancer.pick({.worker = 0, .excluded = all}), kNoBackend);
}

TEST(Random, NoWeightNoPick) {
  Random balancer(seeded({0, 0}));
  EXPECT_EQ(balancer.pick({}), kNoBackend);
}

TEST(Random, TheSeedFixesTheSequenceAndWorkersDiffer) {
  BalancerInit init = seeded({1, 1, 1, 1}, 9);
  init.workers = 2;
  Random first(init);
  Random second(init);
  const std::string sequence = picks(first, 32, 0);
  EXPECT_EQ(sequence, picks(second, 32, 0));
  EXPECT_NE(picks(first, 32, 1), sequence);
}

TEST(Random, OnlyTheRatioOfTheWeightsMatters) {
  // Weights 1:1:1 and 3:3:3 (equal weights), 1:2:3 and 2:4:6 (unequal): the same picks.
  EXPECT_EQ(picks(Random(seeded({1, 1, 1})), 200), picks(Random(seeded({3, 3, 3})), 200));
  EXPECT_EQ(picks(Random(seeded({1, 2, 3})), 200), picks(Random(seeded({2, 4, 6})), 200));
}

}  // namespace
}  // namespace ringlb::balancers
