// Consistent hashing as a pool sees it: stable keys, live eligibility without a rebuild, the
// retry order, the counted fallback for keyless requests, and the bounded-load guarantee.
#include "balancers/consistent_hash.hpp"

#include <gtest/gtest.h>

#include <set>

#include "balancers/explain.hpp"
#include "balancers/random.hpp"
#include "tests/balancers/pool_helpers.hpp"

namespace ringlb::balancers {
namespace {

BalancerInit hashing_pool(uint32_t count, HashMethod method = HashMethod::kMaglev,
                          uint32_t factor = 0) {
  BalancerInit init = address_pool(count);
  init.hash_key = parse_hash_key("header:X-User-Id");
  init.hash_method = method;
  init.hash_balance_factor = factor;
  return init;
}

std::string method_name(const ::testing::TestParamInfo<HashMethod>& method) {
  return method.param == HashMethod::kMaglev ? "maglev" : "ring";
}

class ConsistentHashBoth : public ::testing::TestWithParam<HashMethod> {};
INSTANTIATE_TEST_SUITE_P(Methods, ConsistentHashBoth,
                         ::testing::Values(HashMethod::kMaglev, HashMethod::kRing), method_name);

TEST_P(ConsistentHashBoth, TheSameKeyGoesToTheSameBackend) {
  ConsistentHash balancer(hashing_pool(10, GetParam()));
  std::set<uint32_t> used;
  for (uint64_t i = 0; i < 200; ++i) {
    const uint32_t first = pick_key(balancer, sample_key_hash(i));
    EXPECT_EQ(pick_key(balancer, sample_key_hash(i)), first);
    used.insert(first);
  }
  EXPECT_EQ(used.size(), 10u);
}

TEST_P(ConsistentHashBoth, TwoInstancesAgreeWhateverTheConfigOrder) {
  BalancerInit forward = hashing_pool(30, GetParam());
  BalancerInit backward = forward;
  std::reverse(backward.backends.begin(), backward.backends.end());
  ConsistentHash one(forward);
  ConsistentHash two(backward);
  for (uint64_t i = 0; i < 1000; ++i) {
    const uint64_t key = sample_key_hash(i);
    EXPECT_EQ(one.backends()[pick_key(one, key)].state->address(),
              two.backends()[pick_key(two, key)].state->address());
  }
}

TEST_P(ConsistentHashBoth, ADownBackendIsWalkedPastWithoutMovingOtherKeys) {
  ConsistentHash balancer(hashing_pool(8, GetParam()));
  std::vector<uint32_t> before;
  for (uint64_t i = 0; i < 2000; ++i) before.push_back(pick_key(balancer, sample_key_hash(i)));
  balancer.backends()[3].state->set_up(false);  // no rebuild: the table still holds it
  for (uint64_t i = 0; i < 2000; ++i) {
    const uint32_t now = pick_key(balancer, sample_key_hash(i));
    EXPECT_NE(now, 3u);
    if (before[i] != 3) {
      EXPECT_EQ(now, before[i]);
    }
  }
}

TEST_P(ConsistentHashBoth, ARetryTakesTheNextCandidateDeterministically) {
  ConsistentHash balancer(hashing_pool(5, GetParam()));
  const uint64_t key = sample_key_hash(77);
  const uint32_t first = pick_key(balancer, key);
  const uint32_t tried[] = {first};
  const uint32_t second = pick_key(balancer, key, tried);
  EXPECT_NE(second, first);
  EXPECT_EQ(pick_key(balancer, key, tried), second);
  // The retry lands where the key goes once the first backend is down.
  balancer.backends()[first].state->set_up(false);
  EXPECT_EQ(pick_key(balancer, key), second);
}

TEST_P(ConsistentHashBoth, TheTableHoldsOnlyBackendsEligibleWhenBuilt) {
  BalancerInit init = hashing_pool(4, GetParam());
  init.backends[1].state->set_draining(true);
  init.backends[2].weight = 0;
  ConsistentHash balancer(init);
  EXPECT_TRUE(balancer.rebuilds_on_eligibility_change());
  init.backends[1].state->set_draining(false);  // back, but only a rebuild adds it
  std::set<uint32_t> used;
  for (uint64_t i = 0; i < 1000; ++i) used.insert(pick_key(balancer, sample_key_hash(i)));
  EXPECT_EQ(used, (std::set<uint32_t>{0, 3}));
}

TEST_P(ConsistentHashBoth, BackendsMissingFromTheTableServeWhenTheTableHasNone) {
  BalancerInit init = hashing_pool(3, GetParam());
  init.backends[2].state->set_up(false);
  ConsistentHash balancer(init);
  init.backends[0].state->set_up(false);
  init.backends[1].state->set_up(false);
  init.backends[2].state->set_up(true);
  EXPECT_EQ(pick_key(balancer, sample_key_hash(1)), 2u);
  init.backends[2].state->set_up(false);
  EXPECT_EQ(pick_key(balancer, sample_key_hash(1)), kNoBackend);
}

TEST_P(ConsistentHashBoth, AKeylessRequestGoesRoundRobinAndIsCounted) {
  BalancerInit init = hashing_pool(3, GetParam());
  init.workers = 2;
  ConsistentHash balancer(init);
  EXPECT_EQ(balancer.pick({.worker = 1, .excluded = {}}), 0u);
  EXPECT_EQ(balancer.pick({.worker = 1, .excluded = {}}), 1u);
  EXPECT_EQ(balancer.pick({.worker = 0, .excluded = {}}), 0u);
  pick_key(balancer, sample_key_hash(5));
  EXPECT_EQ(balancer.keyless_picks(0), 1u);
  EXPECT_EQ(balancer.keyless_picks(1), 2u);
  EXPECT_EQ(balancer.keyless_picks(), 3u);
}

TEST(ConsistentHash, DescribesTableKeyAndBound) {
  EXPECT_EQ(ConsistentHash(hashing_pool(2)).describe(),
            "consistent_hash (maglev, 65537 slots, hash_key header:X-User-Id)");
  EXPECT_EQ(ConsistentHash(hashing_pool(2, HashMethod::kRing, 125)).describe(),
            "consistent_hash (ring, 320 points, hash_key header:X-User-Id, bounded load 125%)");
}

TEST(ConsistentHash, UsesTheConfiguredTable) {
  BalancerInit init = hashing_pool(3);
  init.maglev_table_size = 101;
  ConsistentHash maglev(init);
  ASSERT_NE(maglev.maglev(), nullptr);
  EXPECT_EQ(maglev.maglev()->size(), 101u);
  EXPECT_EQ(maglev.ring(), nullptr);
  init.hash_method = HashMethod::kRing;
  init.ring_points_per_weight = 10;
  ConsistentHash ring(init);
  ASSERT_NE(ring.ring(), nullptr);
  EXPECT_EQ(ring.ring()->size(), 30u);
}

// ⌈factor/100 × (active + 1) / eligible⌉ for equal weights: the bound, in integers.
uint64_t load_bound(uint64_t factor, uint64_t active, uint64_t eligible) {
  return (factor * (active + 1) + 100 * eligible - 1) / (100 * eligible);
}

TEST_P(ConsistentHashBoth, BoundedLoadHoldsOverRandomArrivalsAndDepartures) {
  constexpr uint32_t kBackends = 10;
  constexpr uint64_t kFactor = 125;
  ConsistentHash balancer(hashing_pool(kBackends, GetParam(), kFactor));
  const auto& backends = balancer.backends();
  SplitMix64 random(2024);
  std::vector<uint32_t> open;  // the backend of each open connection
  uint64_t overflowed = 0;
  for (int step = 0; step < 50000; ++step) {
    if (step % 5000 == 2500) backends[random.below(kBackends)].state->set_up(false);
    if (step % 5000 == 0) {
      for (const BalancedBackend& backend : backends) backend.state->set_up(true);
    }
    const bool arrive = open.empty() || (open.size() < 400 && random.below(100) < 55);
    if (!arrive) {
      const uint32_t which = random.below(static_cast<uint32_t>(open.size()));
      backends[open[which]].state->on_end(health::Outcome::kSuccess);
      open[which] = open.back();
      open.pop_back();
      continue;
    }
    // Half the arrivals share 3 hot keys, so the bound has work to do.
    const uint64_t key = random.below(2) == 0 ? sample_key_hash(random.below(3))
                                              : sample_key_hash(1000 + random.next() % 100000);
    uint64_t active = 0, eligible = 0;
    for (const BalancedBackend& backend : backends) {
      if (!backend.state->eligible()) continue;
      active += backend.state->active();
      ++eligible;
    }
    const PickTrace trace = explain_pick(balancer, key);
    const uint32_t chosen = pick_key(balancer, key);
    ASSERT_EQ(chosen, trace.chosen);
    ASSERT_NE(chosen, kNoBackend) << "step " << step;
    ASSERT_TRUE(backends[chosen].state->eligible());
    ASSERT_LE(backends[chosen].state->active() + 1, load_bound(kFactor, active, eligible))
        << "step " << step;
    balancer.backends()[chosen].state->on_start();
    open.push_back(chosen);
    overflowed += trace.candidates.front().verdict == Verdict::kOverBound;
  }
  EXPECT_GT(overflowed, 1000u);  // the bound did send hot keys elsewhere
}

TEST(ConsistentHash, BoundedLoadOverflowsToTheSameNextCandidateEveryTime) {
  ConsistentHash one(hashing_pool(6, HashMethod::kMaglev, 100));
  const uint64_t key = sample_key_hash(9);
  const uint32_t home = pick_key(one, key);
  one.backends()[home].state->on_start();  // 1 open, bound ⌈(1+1)/6⌉ = 1: home is full
  const uint32_t next = pick_key(one, key);
  EXPECT_NE(next, home);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(pick_key(one, key), next);
  const uint32_t tried[] = {home};
  one.backends()[home].state->on_end(health::Outcome::kSuccess);
  EXPECT_EQ(pick_key(one, key, tried), next);  // overflow order = retry order
}

TEST(ConsistentHash, ExplainShowsTheWalkThatPickTakes) {
  ConsistentHash balancer(hashing_pool(5));
  const uint64_t key = sample_key_hash(3);
  const uint32_t home = pick_key(balancer, key);
  balancer.backends()[home].state->set_draining(true);
  const PickTrace trace = explain_pick(balancer, key);
  EXPECT_EQ(trace.chosen, pick_key(balancer, key));
  ASSERT_GE(trace.candidates.size(), 2u);
  EXPECT_EQ(trace.candidates.front().backend, home);
  EXPECT_EQ(trace.candidates.front().verdict, Verdict::kDraining);
  EXPECT_EQ(trace.candidates.back().backend, trace.chosen);
  EXPECT_EQ(trace.candidates.back().verdict, Verdict::kPickable);
  EXPECT_TRUE(trace.method.starts_with("hash 0x")) << trace.method;
  EXPECT_NE(trace.method.find(" of 65537"), std::string::npos) << trace.method;
}

}  // namespace
}  // namespace ringlb::balancers
