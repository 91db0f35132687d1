// Smooth weighted round robin: exact sequences a user can predict, and how skipping behaves.
#include "balancers/round_robin.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/balancers/pool_helpers.hpp"

namespace ringlb::balancers {
namespace {

// nginx's smooth weighted round robin written plainly, reading every backend live on each pick,
// with ringlb's rules for panic, slow start and retries: what RoundRobin must answer.
class PlainSmoothRoundRobin {
 public:
  explicit PlainSmoothRoundRobin(const BalancerInit& init)
      : init_(init), current_(init.workers, std::vector<int64_t>(init.backends.size(), 0)) {}

  uint32_t pick(const PickContext& ctx) {
    const health::PanicMode panic = init_.pool_health->panic();
    if (panic == health::PanicMode::kFail) return kNoBackend;
    std::vector<int64_t>& current = current_[ctx.worker];
    uint32_t best = kNoBackend;
    int64_t total = 0;
    for (uint32_t i = 0; i < init_.backends.size(); ++i) {
      const BalancedBackend& backend = init_.backends[i];
      const bool usable = backend.state->eligible() ||
                          (panic == health::PanicMode::kServeAll && !backend.state->draining());
      const bool tried =
          std::find(ctx.excluded.begin(), ctx.excluded.end(), i) != ctx.excluded.end();
      if (backend.weight == 0 || !usable || tried) continue;
      const auto weight =
          static_cast<int64_t>(uint64_t{backend.weight} * backend.state->weight_permille());
      current[i] += weight;
      total += weight;
      if (best == kNoBackend || current[i] > current[best]) best = i;
    }
    if (best != kNoBackend) current[best] -= total;
    return best;
  }

 private:
  const BalancerInit init_;
  std::vector<std::vector<int64_t>> current_;
};

TEST(RoundRobin, WeightsFiveOneOneGiveNginxSmoothSequence) {
  RoundRobin balancer(lettered_pool({5, 1, 1}));
  EXPECT_EQ(picks(balancer, 14), "aabacaaaabacaa");
}

TEST(RoundRobin, EqualWeightsAlternate) {
  RoundRobin balancer(lettered_pool({1, 1, 1}));
  EXPECT_EQ(picks(balancer, 6), "abcabc");
}

TEST(RoundRobin, WeightZeroIsNeverPicked) {
  RoundRobin balancer(lettered_pool({1, 0, 2}));
  EXPECT_EQ(picks(balancer, 6), "caccac");  // c twice per a, as weights 2:1 say
}

TEST(RoundRobin, IneligibleBackendIsSkippedAndOthersKeepTheirShares) {
  RoundRobin balancer(lettered_pool({2, 1, 1}));
  balancer.backends()[0].state->set_up(false);
  EXPECT_EQ(picks(balancer, 4), "bcbc");
  balancer.backends()[0].state->set_up(true);
  balancer.backends()[1].state->set_draining(true);
  EXPECT_EQ(picks(balancer, 6), "acaaca");
}

TEST(RoundRobin, NoEligibleBackendGivesNone) {
  RoundRobin balancer(lettered_pool({1, 1}));
  for (const auto& backend : balancer.backends()) backend.state->set_up(false);
  EXPECT_EQ(balancer.pick({}), kNoBackend);
}

TEST(RoundRobin, DescribesItself) {
  EXPECT_EQ(RoundRobin(lettered_pool({1})).describe(), "round_robin (smooth weighted)");
}

TEST(RoundRobin, RetrySkipsTheBackendsAlreadyTried) {
  RoundRobin balancer(lettered_pool({1, 1, 1}));
  const uint32_t tried[] = {0, 1};
  EXPECT_EQ(balancer.pick({.worker = 0, .excluded = tried}), 2u);
  const uint32_t all[] = {0, 1, 2};
  EXPECT_EQ(balancer.pick({.worker = 0, .excluded = all}), kNoBackend);
}

TEST(RoundRobin, EachWorkerKeepsItsOwnSequence) {
  RoundRobin balancer(lettered_pool({5, 1, 1}, 2));
  EXPECT_EQ(picks(balancer, 3, 0), "aab");
  EXPECT_EQ(picks(balancer, 7, 1), "aabacaa");
  EXPECT_EQ(picks(balancer, 4, 0), "acaa");
}

TEST(RoundRobin, PicksExactlyAsThePlainAlgorithmWhateverThePoolDoes) {
  BalancerInit init = lettered_pool({3, 1, 0, 2, 5, 1, 1, 4, 2, 1}, 2);
  auto pool = std::make_shared<health::PoolHealth>();
  init.pool_health = pool;
  RoundRobin balancer(init);
  PlainSmoothRoundRobin plain(init);
  PoolChurn churn(balancer.backends(), *pool, 7);
  for (uint32_t i = 0; i < 50000; ++i) {
    if (i % 5 == 0) churn.change();
    const PickContext ctx{.worker = i % 2, .excluded = churn.tried()};
    ASSERT_EQ(balancer.pick(ctx), plain.pick(ctx)) << "pick " << i;
  }
}

// A pool with its panic state, so PlainSmoothRoundRobin can read it.
BalancerInit pool_with_health(std::initializer_list<uint32_t> weights, uint32_t workers = 1) {
  BalancerInit init = lettered_pool(weights, workers);
  init.pool_health = std::make_shared<health::PoolHealth>();
  return init;
}

TEST(RoundRobin, TheSequenceRepeatsCycleAfterCycle) {
  RoundRobin balancer(lettered_pool({5, 1, 1}));
  std::string expected;
  for (int cycle = 0; cycle < 20; ++cycle) expected += "aabacaa";
  EXPECT_EQ(picks(balancer, 140), expected);
}

TEST(RoundRobin, AChangeMidCycleContinuesExactlyAsThePlainAlgorithm) {
  BalancerInit init = pool_with_health({5, 1, 1});
  RoundRobin balancer(init);
  PlainSmoothRoundRobin plain(init);
  const auto both = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const PickContext ctx{.worker = 0, .excluded = {}};
      ASSERT_EQ(balancer.pick(ctx), plain.pick(ctx)) << "pick " << i;
    }
  };
  both(17);  // two cycles and three picks into the third
  balancer.backends()[2].state->set_up(false);
  both(9);
  balancer.backends()[2].state->set_up(true);
  both(11);
  balancer.backends()[0].state->set_weight_permille(250);  // slow start
  both(25);
  balancer.backends()[0].state->set_weight_permille(1000);
  both(30);
}

TEST(RoundRobin, ARetryOrPanicMidCycleContinuesExactlyAsThePlainAlgorithm) {
  BalancerInit init = lettered_pool({3, 1, 2, 1});
  auto pool = std::make_shared<health::PoolHealth>();
  init.pool_health = pool;
  RoundRobin balancer(init);
  PlainSmoothRoundRobin plain(init);
  const uint32_t tried[] = {0};
  for (uint32_t i = 0; i < 500; ++i) {
    pool->set_panic(i % 50 >= 45 ? health::PanicMode::kServeAll : health::PanicMode::kNone);
    if (i % 50 == 44) balancer.backends()[1].state->set_up(false);
    if (i % 50 == 49) balancer.backends()[1].state->set_up(true);
    PickContext ctx{.worker = 0, .excluded = {}};
    if (i % 23 == 22) ctx.excluded = tried;
    ASSERT_EQ(balancer.pick(ctx), plain.pick(ctx)) << "pick " << i;
  }
}

TEST(RoundRobin, PicksExactlyAsThePlainAlgorithmWhenThePoolChangesNowAndThen) {
  // Long quiet stretches, so picks come from a replayed cycle and leave it mid-way.
  BalancerInit init = lettered_pool({3, 1, 0, 2, 5, 1, 1, 4, 2, 1}, 2);
  auto pool = std::make_shared<health::PoolHealth>();
  init.pool_health = pool;
  RoundRobin balancer(init);
  PlainSmoothRoundRobin plain(init);
  PoolChurn churn(balancer.backends(), *pool, 11);
  for (uint32_t i = 0; i < 200000; ++i) {
    if (i % 331 == 0) churn.change();
    PickContext ctx{.worker = i % 7 == 0 ? 1u : 0u, .excluded = {}};
    if (i % 97 == 0) ctx.excluded = churn.tried();
    ASSERT_EQ(balancer.pick(ctx), plain.pick(ctx)) << "pick " << i;
  }
}

TEST(RoundRobin, ACycleLongerThanTheCacheIsScannedAndStillExact) {
  // 4000 + 97 = 4097 picks per cycle, one more than a worker replays.
  BalancerInit init = pool_with_health({4000, 97});
  RoundRobin balancer(init);
  PlainSmoothRoundRobin plain(init);
  for (uint32_t i = 0; i < 3 * (RoundRobin::kMaxCycle + 1); ++i) {
    if (i == 5000) balancer.backends()[1].state->set_weight_permille(100);
    if (i == 9000) balancer.backends()[1].state->set_weight_permille(1000);
    const PickContext ctx{.worker = 0, .excluded = {}};
    ASSERT_EQ(balancer.pick(ctx), plain.pick(ctx)) << "pick " << i;
  }
}

TEST(RoundRobin, TheEpochMovesOnlyWhenEligibilityOrTheShareChanges) {
  health::BackendState state("pool", "a");
  uint64_t epoch = health::eligibility_epoch();
  state.set_up(true);
  state.set_ejected(false);
  state.set_draining(false);
  state.set_weight_permille(1000);
  state.on_start();
  EXPECT_EQ(health::eligibility_epoch(), epoch);
  state.set_draining(true);
  EXPECT_GT(health::eligibility_epoch(), epoch);
  epoch = health::eligibility_epoch();
  state.set_weight_permille(500);
  EXPECT_GT(health::eligibility_epoch(), epoch);
}

}  // namespace
}  // namespace ringlb::balancers
