// The registry: every algorithm this build ships, what each needs from a request, and that
// config validation's view of those needs is the same as the registry's.
#include "balancers/registry.hpp"

#include <gtest/gtest.h>

#include "balancers/random.hpp"
#include "config/loader.hpp"
#include "tests/balancers/pool_helpers.hpp"

namespace ringlb::balancers {
namespace {

TEST(Registry, KnowsEveryBuiltInAlgorithm) {
  BalancerRegistry registry = builtin_balancers();
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"consistent_hash", "least_connections",
                                                        "random", "round_robin"}));
  for (const std::string& name : registry.names()) {
    BalancerInit init = address_pool(3);
    init.hash_key = parse_hash_key("client_ip");
    std::unique_ptr<Balancer> balancer = registry.make(name, init);
    ASSERT_NE(balancer, nullptr) << name;
    EXPECT_TRUE(balancer->describe().starts_with(name)) << balancer->describe();
    EXPECT_NE(balancer->pick({.worker = 0, .excluded = {}, .key_hash = 1}), kNoBackend) << name;
  }
}

TEST(Registry, RefusesUnknownNames) {
  EXPECT_EQ(builtin_balancers().make("no_such_algorithm", address_pool(1)), nullptr);
  EXPECT_EQ(builtin_balancers().factory("no_such_algorithm"), nullptr);
  EXPECT_EQ(builtin_balancers().factory("random"), &make_random);
}

TEST(Registry, OnlyConsistentHashNeedsAKeyAndRebuildsItsTable) {
  BalancerRegistry registry = builtin_balancers();
  EXPECT_EQ(registry.names_needing_hash_key(), std::vector<std::string>{"consistent_hash"});
  for (const std::string& name : registry.names()) {
    std::unique_ptr<Balancer> balancer = registry.make(name, address_pool(2));
    const bool hashing = name == "consistent_hash";
    EXPECT_EQ(balancer->uses_key(), hashing) << name;
    EXPECT_EQ(balancer->rebuilds_on_eligibility_change(), hashing) << name;
  }
}

TEST(Registry, ConfigValidationKnowsWhichAlgorithmsNeedAKey) {
  // config/ cannot depend on balancers/, so LoadOptions carries a default of its own.
  EXPECT_EQ(config::LoadOptions{}.hash_key_balancers, builtin_balancers().names_needing_hash_key());
}

}  // namespace
}  // namespace ringlb::balancers
