// Smooth weighted round robin: exact sequences a user can predict, and how skipping behaves.
#include "balancers/round_robin.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/balancers/pool_helpers.hpp"

namespace ringlb::balancers {
namespace {

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

}  // namespace
}  // namespace ringlb::balancers
