// Smooth weighted round robin: exact sequences a user can predict, and how skipping behaves.
#include "balancers/round_robin.hpp"

#include <gtest/gtest.h>

#include <string>

#include "balancers/registry.hpp"

namespace ringlb::balancers {
namespace {

BalancerInit make_pool(std::initializer_list<uint32_t> weights, uint32_t workers = 1) {
  BalancerInit init;
  init.workers = workers;
  char name = 'a';
  for (uint32_t weight : weights) {
    auto state = std::make_shared<health::BackendState>("pool", std::string(1, name++));
    init.backends.push_back({state, weight});
  }
  return init;
}

std::string picks(const Balancer& balancer, int count, uint32_t worker = 0) {
  std::string sequence;
  for (int i = 0; i < count; ++i) {
    uint32_t index = balancer.pick({.worker = worker, .excluded = {}});
    sequence += index == kNoBackend ? '-' : balancer.backends()[index].state->address()[0];
  }
  return sequence;
}

TEST(RoundRobin, WeightsFiveOneOneGiveNginxSmoothSequence) {
  RoundRobin balancer(make_pool({5, 1, 1}));
  EXPECT_EQ(picks(balancer, 14), "aabacaaaabacaa");
}

TEST(RoundRobin, EqualWeightsAlternate) {
  RoundRobin balancer(make_pool({1, 1, 1}));
  EXPECT_EQ(picks(balancer, 6), "abcabc");
}

TEST(RoundRobin, WeightZeroIsNeverPicked) {
  RoundRobin balancer(make_pool({1, 0, 2}));
  EXPECT_EQ(picks(balancer, 6), "caccac");  // c twice per a, as weights 2:1 say
}

TEST(RoundRobin, IneligibleBackendIsSkippedAndOthersKeepTheirShares) {
  RoundRobin balancer(make_pool({2, 1, 1}));
  balancer.backends()[0].state->set_up(false);
  EXPECT_EQ(picks(balancer, 4), "bcbc");
  balancer.backends()[0].state->set_up(true);
  balancer.backends()[1].state->set_draining(true);
  EXPECT_EQ(picks(balancer, 6), "acaaca");
}

TEST(RoundRobin, NoEligibleBackendGivesNone) {
  RoundRobin balancer(make_pool({1, 1}));
  for (const auto& backend : balancer.backends()) backend.state->set_up(false);
  EXPECT_EQ(balancer.pick({}), kNoBackend);
}

TEST(RoundRobin, RetrySkipsTheBackendsAlreadyTried) {
  RoundRobin balancer(make_pool({1, 1, 1}));
  const uint32_t tried[] = {0, 1};
  EXPECT_EQ(balancer.pick({.worker = 0, .excluded = tried}), 2u);
  const uint32_t all[] = {0, 1, 2};
  EXPECT_EQ(balancer.pick({.worker = 0, .excluded = all}), kNoBackend);
}

TEST(RoundRobin, EachWorkerKeepsItsOwnSequence) {
  RoundRobin balancer(make_pool({5, 1, 1}, 2));
  EXPECT_EQ(picks(balancer, 3, 0), "aab");
  EXPECT_EQ(picks(balancer, 7, 1), "aabacaa");
  EXPECT_EQ(picks(balancer, 4, 0), "acaa");
}

TEST(Registry, KnowsRoundRobinAndRefusesUnknownNames) {
  BalancerRegistry registry = builtin_balancers();
  EXPECT_NE(registry.make("round_robin", make_pool({1})), nullptr);
  EXPECT_EQ(registry.make("no_such_algorithm", make_pool({1})), nullptr);
  EXPECT_EQ(registry.names(), std::vector<std::string>{"round_robin"});
}

}  // namespace
}  // namespace ringlb::balancers
