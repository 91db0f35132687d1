// Membership: the union of a pool's sources, the precedence on a duplicate address, the admin's
// removals that hide an address from every source, what counts as a change, and the fingerprint
// that does not depend on order or source.
#include "core/discovery/membership.hpp"

#include <gtest/gtest.h>

#include "balancers/fingerprint.hpp"
#include "config/units.hpp"

namespace ringlb::discovery {
namespace {

config::BackendConfig backend(const std::string& address, uint32_t weight = 1) {
  return {*config::parse_address(address, nullptr), weight, {}};
}

config::Config one_pool(std::vector<config::BackendConfig> inline_backends) {
  config::Config config;
  config::PoolConfig pool;
  pool.name = "app";
  pool.backends = std::move(inline_backends);
  config.pools.push_back(pool);
  return config;
}

std::vector<std::string> addresses(const std::vector<config::BackendConfig>& list) {
  std::vector<std::string> out;
  for (const auto& entry : list)
    out.push_back(entry.address.to_string() + "/" + std::to_string(entry.weight));
  return out;
}

TEST(Membership, ThePoolsSetIsTheUnionWithInlineFirst) {
  Membership membership;
  membership.reset(one_pool({backend("10.0.0.1:80")}));
  EXPECT_TRUE(membership.replace("app", BackendSource::kDns, {backend("10.0.0.3:80")}));
  EXPECT_TRUE(membership.replace("app", BackendSource::kFile, {backend("10.0.0.2:80")}));
  EXPECT_EQ(addresses(membership.members("app")),
            (std::vector<std::string>{"10.0.0.1:80/1", "10.0.0.2:80/1", "10.0.0.3:80/1"}));
}

TEST(Membership, ADuplicateTakesTheWeightOfTheSourceThatComesFirst) {
  Membership membership;
  membership.reset(one_pool({backend("10.0.0.1:80", 2)}));
  membership.replace("app", BackendSource::kFile, {backend("10.0.0.1:80", 5)});
  membership.replace("app", BackendSource::kDns, {backend("10.0.0.1:80", 7)});
  EXPECT_EQ(addresses(membership.members("app")), (std::vector<std::string>{"10.0.0.1:80/2"}));
  EXPECT_EQ(membership.admin_add("app", backend("10.0.0.1:80", 9)), AdminAdd::kPresent);
}

TEST(Membership, OnlyAChangeOfAddressesOrWeightsIsAChange) {
  Membership membership;
  membership.reset(one_pool({}));
  membership.take_changed();
  EXPECT_TRUE(membership.replace("app", BackendSource::kFile,
                                 {backend("10.0.0.1:80"), backend("10.0.0.2:80")}));
  EXPECT_EQ(membership.take_changed(), std::set<std::string>{"app"});
  EXPECT_FALSE(membership.replace("app", BackendSource::kFile,
                                  {backend("10.0.0.2:80"), backend("10.0.0.1:80")}));
  EXPECT_FALSE(membership.any_changed());
  EXPECT_TRUE(membership.replace("app", BackendSource::kFile,
                                 {backend("10.0.0.2:80", 3), backend("10.0.0.1:80")}));
  EXPECT_FALSE(membership.replace("nope", BackendSource::kFile, {backend("10.0.0.1:80")}));
}

TEST(Membership, AnAdminRemovalHidesTheAddressFromEverySourceUntilReset) {
  Membership membership;
  const config::Config config = one_pool({backend("10.0.0.1:80"), backend("10.0.0.2:80")});
  membership.reset(config);
  EXPECT_EQ(membership.admin_remove("app", "10.0.0.1:80"), AdminRemove::kRemoved);
  EXPECT_EQ(membership.admin_remove("app", "10.0.0.1:80"), AdminRemove::kAbsent);
  membership.replace("app", BackendSource::kDns, {backend("10.0.0.1:80")});
  EXPECT_EQ(addresses(membership.members("app")), (std::vector<std::string>{"10.0.0.2:80/1"}));
  EXPECT_TRUE(membership.admin_changed());
  EXPECT_EQ(membership.admin_add("app", backend("10.0.0.1:80", 4)), AdminAdd::kAdded);
  EXPECT_EQ(addresses(membership.members("app")),
            (std::vector<std::string>{"10.0.0.1:80/4", "10.0.0.2:80/1"}));  // admin's weight
  membership.reset(config);  // a reload: the admin's changes end, DNS's answer stays
  EXPECT_FALSE(membership.admin_changed());
  EXPECT_EQ(addresses(membership.members("app")),
            (std::vector<std::string>{"10.0.0.1:80/1", "10.0.0.2:80/1"}));
  EXPECT_EQ(membership.admin_add("nope", backend("10.0.0.1:80")), AdminAdd::kNoPool);
}

TEST(TableFingerprint, DependsOnTheSetAndWeightsNotTheOrder) {
  const auto a = balancers::table_fingerprint({backend("10.0.0.1:80"), backend("10.0.0.2:80", 2)});
  const auto b = balancers::table_fingerprint({backend("10.0.0.2:80", 2), backend("10.0.0.1:80")});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, balancers::table_fingerprint({backend("10.0.0.1:80"), backend("10.0.0.2:80")}));
  EXPECT_NE(a, balancers::table_fingerprint({backend("10.0.0.1:80")}));
}

}  // namespace
}  // namespace ringlb::discovery
