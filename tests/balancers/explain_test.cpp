// explain and simulate, the logic behind the two CLI commands: they report what the data path
// would do, and a removal moves what the paper says it moves.
#include "balancers/explain.hpp"

#include <gtest/gtest.h>

#include "balancers/consistent_hash.hpp"
#include "balancers/round_robin.hpp"
#include "tests/balancers/pool_helpers.hpp"

namespace ringlb::balancers {
namespace {

BalancerInit hashing_pool(uint32_t count, HashMethod method) {
  BalancerInit init = address_pool(count);
  init.hash_key = parse_hash_key("client_ip");
  init.hash_method = method;
  return init;
}

TEST(ExplainPick, AgreesWithPick) {
  ConsistentHash balancer(hashing_pool(7, HashMethod::kMaglev));
  for (uint64_t i = 0; i < 50; ++i) {
    const PickTrace trace = explain_pick(balancer, sample_key_hash(i));
    EXPECT_EQ(trace.chosen, pick_key(balancer, sample_key_hash(i)));
    ASSERT_EQ(trace.candidates.size(), 1u);
    EXPECT_EQ(trace.candidates[0].backend, trace.chosen);
  }
}

TEST(ExplainPick, NamesTheAlgorithmOfAnyBalancer) {
  RoundRobin balancer(lettered_pool({2, 1}));
  const PickTrace trace = explain_pick(balancer, std::nullopt);
  EXPECT_EQ(trace.algorithm, "round_robin (smooth weighted)");
  EXPECT_EQ(trace.chosen, 0u);
}

TEST(ExplainPick, AKeylessRequestSaysItFellBack) {
  ConsistentHash balancer(hashing_pool(3, HashMethod::kRing));
  const PickTrace trace = explain_pick(balancer, std::nullopt);
  EXPECT_EQ(trace.method, "no key: round robin fallback (counted)");
  EXPECT_EQ(trace.chosen, 0u);
}

TEST(SimulateRemoval, OnARingExactlyTheRemovedBackendsKeysMove) {
  const BalancerInit init = hashing_pool(10, HashMethod::kRing);
  const RemovalSimulation result = simulate_removal(make_consistent_hash, init, 6, 50000);
  EXPECT_EQ(result.keys, 50000u);
  EXPECT_EQ(result.moved, result.on_removed);
  EXPECT_EQ(result.loads[6].before, result.on_removed);
  EXPECT_EQ(result.loads[6].after, 0u);
  uint64_t before = 0, after = 0;
  for (const BackendLoad& load : result.loads) {
    before += load.before;
    after += load.after;
    if (&load != &result.loads[6]) {
      EXPECT_GE(load.after, load.before);
    }
  }
  EXPECT_EQ(before, 50000u);
  EXPECT_EQ(after, 50000u);
  EXPECT_EQ(result.loads[6].address, "10.0.6.1:8080");
}

TEST(SimulateRemoval, MaglevMovesLittleMoreThanItMust) {
  const BalancerInit init = hashing_pool(20, HashMethod::kMaglev);
  const RemovalSimulation result = simulate_removal(make_consistent_hash, init, 0, 50000);
  EXPECT_GE(result.moved, result.on_removed);
  EXPECT_LE(result.moved_share(), 1.6 * result.necessary_share());
  EXPECT_NEAR(result.necessary_share(), 1.0 / 20, 0.01);
  EXPECT_EQ(result.loads[0].after, 0u);
}

TEST(SampleKeyHash, IsStable) {
  EXPECT_EQ(sample_key_hash(0), sample_key_hash(0));
  EXPECT_NE(sample_key_hash(0), sample_key_hash(1));
}

}  // namespace
}  // namespace ringlb::balancers
