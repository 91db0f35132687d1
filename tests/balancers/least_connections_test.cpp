// Weighted least connections: the least loaded per unit of weight wins, ties share by smooth
// round robin (so an idle pool follows the weights), and sampling d choices avoids the busiest.
#include "balancers/least_connections.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

#include "tests/balancers/pool_helpers.hpp"

namespace ringlb::balancers {
namespace {

// Weighted least connections written plainly, as nginx's least_conn does it: one scan for the
// least load per unit of effective weight, a second to share the tie by smooth weighted round
// robin. Reads every backend live, with ringlb's rules for panic and retries.
class PlainLeastConnections {
 public:
  explicit PlainLeastConnections(const BalancerInit& init)
      : init_(init), current_(init.workers, std::vector<int64_t>(init.backends.size(), 0)) {}

  uint32_t pick(const PickContext& ctx) {
    const health::PanicMode panic = init_.pool_health->panic();
    if (panic == health::PanicMode::kFail) return kNoBackend;
    uint32_t best = kNoBackend;
    for (uint32_t i = 0; i < init_.backends.size(); ++i) {
      if (pickable(i, ctx, panic) && (best == kNoBackend || less_loaded(i, best))) best = i;
    }
    std::vector<uint32_t> tied;
    for (uint32_t i = 0; i < init_.backends.size(); ++i) {
      if (best == kNoBackend || !pickable(i, ctx, panic)) continue;
      if (!less_loaded(i, best) && !less_loaded(best, i)) tied.push_back(i);
    }
    if (tied.size() <= 1) return best;
    std::vector<int64_t>& current = current_[ctx.worker];
    uint32_t chosen = kNoBackend;
    int64_t total = 0;
    for (uint32_t i : tied) {
      current[i] += static_cast<int64_t>(weight(i));
      total += static_cast<int64_t>(weight(i));
      if (chosen == kNoBackend || current[i] > current[chosen]) chosen = i;
    }
    current[chosen] -= total;
    return chosen;
  }

 private:
  bool pickable(uint32_t i, const PickContext& ctx, health::PanicMode panic) const {
    const BalancedBackend& backend = init_.backends[i];
    const bool usable = backend.state->eligible() ||
                        (panic == health::PanicMode::kServeAll && !backend.state->draining());
    const bool tried = std::find(ctx.excluded.begin(), ctx.excluded.end(), i) != ctx.excluded.end();
    return backend.weight != 0 && usable && !tried;
  }
  uint64_t weight(uint32_t i) const {
    return uint64_t{init_.backends[i].weight} * init_.backends[i].state->weight_permille();
  }
  bool less_loaded(uint32_t a, uint32_t b) const {
    return uint64_t{init_.backends[a].state->active()} * weight(b) <
           uint64_t{init_.backends[b].state->active()} * weight(a);
  }

  const BalancerInit init_;
  std::vector<std::vector<int64_t>> current_;
};

void open_connections(const Balancer& balancer, uint32_t backend, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) balancer.backends()[backend].state->on_start();
}

TEST(LeastConnections, PrefersTheLeastLoaded) {
  LeastConnections balancer(lettered_pool({1, 1, 1}));
  open_connections(balancer, 0, 3);
  open_connections(balancer, 1, 1);
  open_connections(balancer, 2, 2);
  EXPECT_EQ(picks(balancer, 1), "b");
}

TEST(LeastConnections, FillsTheLeastLoadedFirst) {
  LeastConnections balancer(lettered_pool({1, 1, 1}));
  open_connections(balancer, 0, 2);
  std::string sequence;
  for (int i = 0; i < 7; ++i) {
    uint32_t index = balancer.pick({});
    sequence += balancer.backends()[index].state->address();
    balancer.backends()[index].state->on_start();
  }
  // b and c catch up with a's two before a gets any; then everyone ends at three.
  EXPECT_EQ(sequence.substr(0, 4).find('a'), std::string::npos) << sequence;
  for (const BalancedBackend& backend : balancer.backends()) EXPECT_EQ(backend.state->active(), 3u);
}

TEST(LeastConnections, ComparesLoadPerUnitOfWeight) {
  LeastConnections balancer(lettered_pool({3, 1}));
  open_connections(balancer, 0, 5);  // 5/3 < 2/1
  open_connections(balancer, 1, 2);
  EXPECT_EQ(picks(balancer, 1), "a");
  open_connections(balancer, 0, 2);  // 7/3 > 2/1
  EXPECT_EQ(picks(balancer, 1), "b");
}

TEST(LeastConnections, KeepsTheWeightsUnderSteadyLoad) {
  LeastConnections balancer(lettered_pool({3, 1}));
  for (int i = 0; i < 400; ++i) balancer.backends()[balancer.pick({})].state->on_start();
  EXPECT_EQ(balancer.backends()[0].state->active(), 300u);
  EXPECT_EQ(balancer.backends()[1].state->active(), 100u);
}

TEST(LeastConnections, TiesTakeTurnsFairly) {
  LeastConnections balancer(lettered_pool({1, 1, 1}));
  EXPECT_EQ(picks(balancer, 6), "abcabc");
  open_connections(balancer, 1, 1);  // a and c tie at 0: they alternate, b is left out
  EXPECT_EQ(picks(balancer, 4), "acac");
}

TEST(LeastConnections, IdlePoolFollowsTheWeightsSmoothly) {
  LeastConnections balancer(lettered_pool({5, 1, 1}));
  EXPECT_EQ(picks(balancer, 7), "aabacaa");
}

TEST(LeastConnections, SkipsIneligibleWeightZeroAndTriedBackends) {
  LeastConnections balancer(lettered_pool({1, 0, 1, 1}));
  balancer.backends()[0].state->set_up(false);
  open_connections(balancer, 3, 1);
  EXPECT_EQ(picks(balancer, 2), "cc");
  const uint32_t tried[] = {2};
  EXPECT_EQ(balancer.pick({.worker = 0, .excluded = tried}), 3u);
  const uint32_t all[] = {2, 3};
  EXPECT_EQ(balancer.pick({.worker = 0, .excluded = all}), kNoBackend);
}

TEST(LeastConnections, EachWorkerSharesTiesOnItsOwn) {
  LeastConnections balancer(lettered_pool({1, 1}, 2));
  EXPECT_EQ(picks(balancer, 3, 0), "aba");
  EXPECT_EQ(picks(balancer, 3, 1), "aba");
}

BalancerInit sampled_pool(uint32_t count, uint32_t choices, uint64_t seed = 42) {
  BalancerInit init = address_pool(count);
  init.choices = choices;
  init.random_seed = seed;
  return init;
}

TEST(LeastConnectionsSampled, NeverPicksTheBusiestOfTwoOrMore) {
  LeastConnections balancer(sampled_pool(10, 2));
  for (uint32_t i = 0; i < 10; ++i) open_connections(balancer, i, i == 7 ? 100 : 1 + i % 3);
  for (int i = 0; i < 2000; ++i) EXPECT_NE(balancer.pick({}), 7u);
}

TEST(LeastConnectionsSampled, PicksTheLessLoadedOfItsSample) {
  // With two backends, both are always sampled: the sample decides like the full scan.
  LeastConnections balancer(sampled_pool(2, 2));
  open_connections(balancer, 0, 4);
  open_connections(balancer, 1, 3);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(balancer.pick({}), 1u);
}

TEST(LeastConnectionsSampled, SpreadsAnIdlePoolByWeight) {
  BalancerInit init = sampled_pool(3, 2);
  init.backends[0].weight = 2;
  LeastConnections balancer(std::move(init));
  std::vector<uint64_t> counts = pick_counts(balancer, 40000);
  // Idle loads tie, so the first draw wins: shares 2:1:1. A seeded run; ±3% is > 5 sigma.
  EXPECT_NEAR(double(counts[0]) / 40000, 0.50, 0.03);
  EXPECT_NEAR(double(counts[1]) / 40000, 0.25, 0.03);
  EXPECT_NEAR(double(counts[2]) / 40000, 0.25, 0.03);
}

TEST(LeastConnectionsSampled, TheSameSeedGivesTheSamePicks) {
  LeastConnections first(sampled_pool(50, 2, 7));
  LeastConnections second(sampled_pool(50, 2, 7));
  LeastConnections other(sampled_pool(50, 2, 8));
  std::vector<uint32_t> a, b, c;
  for (int i = 0; i < 100; ++i) {
    a.push_back(first.pick({}));
    b.push_back(second.pick({}));
    c.push_back(other.pick({}));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(LeastConnectionsSampled, FindsTheLastEligibleBackend) {
  LeastConnections balancer(sampled_pool(20, 2));
  for (uint32_t i = 0; i < 20; ++i) balancer.backends()[i].state->set_up(i == 13);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(balancer.pick({}), 13u);
  balancer.backends()[13].state->set_draining(true);
  EXPECT_EQ(balancer.pick({}), kNoBackend);
}

TEST(LeastConnections, PicksExactlyAsThePlainAlgorithmWhateverThePoolDoes) {
  BalancerInit init = lettered_pool({3, 1, 0, 2, 5, 1, 1, 4, 2, 1}, 2);
  auto pool = std::make_shared<health::PoolHealth>();
  init.pool_health = pool;
  LeastConnections balancer(init);
  PlainLeastConnections plain(init);
  PoolChurn churn(balancer.backends(), *pool, 11);
  // Each pick opens a connection and the oldest of 12 closes, so loads stay small and tie often.
  std::deque<uint32_t> open;
  for (uint32_t i = 0; i < 50000; ++i) {
    if (i % 3 == 0) churn.change();
    const PickContext ctx{.worker = i % 2, .excluded = churn.tried()};
    const uint32_t picked = balancer.pick(ctx);
    ASSERT_EQ(picked, plain.pick(ctx)) << "pick " << i;
    if (picked == kNoBackend) continue;
    balancer.backends()[picked].state->on_start();
    open.push_back(picked);
    if (open.size() <= 12) continue;
    health::BackendState& oldest = *balancer.backends()[open.front()].state;
    if (oldest.active() > 0) oldest.on_end(health::Outcome::kSuccess);
    open.pop_front();
  }
}

TEST(LeastConnections, DescribesItsMode) {
  EXPECT_EQ(LeastConnections(sampled_pool(2, 0)).describe(), "least_connections (weighted)");
  EXPECT_EQ(LeastConnections(sampled_pool(2, 2)).describe(),
            "least_connections (weighted, least loaded of 2 random choices)");
}

}  // namespace
}  // namespace ringlb::balancers
