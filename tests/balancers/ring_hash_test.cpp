// The hash ring: an even enough split at the default 160 points per unit of weight, exactly the
// removed backend's keys move, and the ring does not depend on the order of the backends.
#include "balancers/ring_hash.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "balancers/balancer.hpp"
#include "balancers/explain.hpp"

namespace ringlb::balancers {
namespace {

std::vector<std::string> addresses(uint32_t count) {
  std::vector<std::string> result;
  for (uint32_t i = 0; i < count; ++i) result.push_back("10.0." + std::to_string(i) + ".1:8080");
  return result;
}

std::vector<HashNode> nodes_for(const std::vector<std::string>& names, uint32_t weight = 1) {
  std::vector<HashNode> nodes;
  for (uint32_t i = 0; i < names.size(); ++i) nodes.push_back({names[i], weight, i});
  return nodes;
}

std::vector<uint32_t> key_counts(const RingHash& ring, size_t backends, uint64_t keys) {
  std::vector<uint32_t> counts(backends, 0);
  for (uint64_t i = 0; i < keys; ++i) ++counts[ring.owner(ring.position(sample_key_hash(i)))];
  return counts;
}

// The busiest backend's keys over the mean, for `n` backends and 100k sample keys.
double max_over_mean(uint32_t n, uint32_t points_per_weight) {
  constexpr uint64_t kKeys = 100000;
  std::vector<std::string> names = addresses(n);
  RingHash ring(nodes_for(names), points_per_weight);
  std::vector<uint32_t> counts = key_counts(ring, n, kKeys);
  return *std::max_element(counts.begin(), counts.end()) / (double(kKeys) / n);
}

// A backend's share on a ring of P points per backend varies by about 1/sqrt(P): 7.9% at 160.
// Over 200 random address sets (see the issue-4 notes), max/mean <= 1.10 held for 95% of
// 2-backend pools, 89% of 3-backend pools, 74% at 4 and 27% at 10; at 1000 points, 99% at 10.
// So the 1.10 bound at 160 points is a small-pool property, and larger pools need more points.
TEST(RingHash, MaxOverMeanLoadIsAtMost1_10At160PointsPerWeightForSmallPools) {
  for (uint32_t n : {2u, 3u}) EXPECT_LE(max_over_mean(n, 160), 1.10) << "n=" << n;
}

TEST(RingHash, TenBackendsNeedAbout1000PointsPerWeightForMaxOverMean1_10) {
  EXPECT_LE(max_over_mean(10, 1000), 1.10);
}

TEST(RingHash, HasTheConfiguredPointsPerWeight) {
  std::vector<std::string> names = addresses(7);
  EXPECT_EQ(RingHash(nodes_for(names, 2), kDefaultRingPointsPerWeight).size(), 7u * 2 * 160);
}

TEST(RingHash, RemovingABackendMovesExactlyItsKeys) {
  std::vector<std::string> names = addresses(10);
  std::vector<HashNode> nodes = nodes_for(names);
  RingHash before(nodes, 160);
  std::vector<HashNode> rest = nodes;
  rest.erase(rest.begin() + 4);
  RingHash after(rest, 160);
  for (uint64_t i = 0; i < 20000; ++i) {
    const uint64_t key = sample_key_hash(i);
    const uint32_t was = before.owner(before.position(key));
    const uint32_t is = after.owner(after.position(key));
    if (was != 4) {
      EXPECT_EQ(is, was) << "key " << i;
    }
    EXPECT_NE(is, 4u);
  }
}

TEST(RingHash, TheRingIsTheSameWhateverTheInputOrder) {
  std::vector<std::string> names = addresses(20);
  std::vector<HashNode> nodes = nodes_for(names);
  RingHash reference(nodes, 160);
  std::shuffle(nodes.begin(), nodes.end(), std::mt19937(3));
  RingHash shuffled(nodes, 160);
  ASSERT_TRUE(std::equal(reference.points().begin(), reference.points().end(),
                         shuffled.points().begin(), shuffled.points().end()));
  for (uint32_t i = 0; i < reference.size(); ++i) {
    EXPECT_EQ(reference.owner(i), shuffled.owner(i));  // backend ids travel with the address
  }
}

TEST(RingHash, WeightMultipliesPoints) {
  std::vector<std::string> names = addresses(2);
  std::vector<HashNode> nodes = nodes_for(names);
  nodes[1].weight = 3;
  RingHash ring(nodes, 160);
  EXPECT_EQ(ring.size(), 640u);
  std::vector<uint32_t> counts = key_counts(ring, 2, 100000);
  EXPECT_NEAR(double(counts[1]) / 100000, 0.75, 0.05);
}

TEST(RingHash, KeysPastTheLastPointWrapToTheFirst) {
  std::vector<std::string> names = addresses(3);
  RingHash ring(nodes_for(names), 4);
  EXPECT_EQ(ring.position(ring.points().back() + 1), 0u);
  EXPECT_EQ(ring.position(ring.points()[5]), 5u);
  EXPECT_EQ(ring.position(ring.points()[5] - 1), 5u);
}

}  // namespace
}  // namespace ringlb::balancers
