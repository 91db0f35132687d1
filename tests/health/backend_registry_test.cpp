// A reload that keeps a backend must keep its state; one that drops it must forget it.
#include "health/backend_registry.hpp"

#include <gtest/gtest.h>

namespace ringlb::health {
namespace {

TEST(BackendRegistry, SamePoolAndAddressKeepTheirState) {
  BackendRegistry registry;
  auto first = registry.get_or_create("app", "127.0.0.1:1");
  first->set_draining(true);
  auto again = registry.get_or_create("app", "127.0.0.1:1");
  EXPECT_EQ(first, again);
  EXPECT_TRUE(again->draining());
  EXPECT_NE(registry.get_or_create("other", "127.0.0.1:1"), first);
}

TEST(BackendRegistry, ForgetsStatesNoSnapshotHolds) {
  BackendRegistry registry;
  auto kept = registry.get_or_create("app", "127.0.0.1:1");
  registry.get_or_create("app", "127.0.0.1:2")->set_up(false);
  registry.forget_unused();
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_TRUE(registry.get_or_create("app", "127.0.0.1:2")->up());
}

TEST(BackendRegistry, ANewBackendStartsAsItsInitialStateSaysAndAKeptOneKeepsItsState) {
  BackendRegistry registry;
  auto unknown = registry.get_or_create("app", "127.0.0.1:1", /*up_when_new=*/false);
  EXPECT_FALSE(unknown->eligible());
  unknown->set_up(true);
  EXPECT_TRUE(registry.get_or_create("app", "127.0.0.1:1", /*up_when_new=*/false)->up());
}

TEST(BackendRegistry, PoolHealthIsSharedByNameAndForgottenWhenUnused) {
  BackendRegistry registry;
  auto pool = registry.pool_health("app");
  pool->set_panic(PanicMode::kFail);
  EXPECT_EQ(registry.pool_health("app"), pool);
  pool.reset();
  registry.forget_unused();
  EXPECT_EQ(registry.pool_health("app")->panic(), PanicMode::kNone);
}

TEST(BackendState, EligibleOnlyWhenUpNotEjectedNotDraining) {
  BackendState state("app", "127.0.0.1:1");
  EXPECT_TRUE(state.eligible());
  state.set_ejected(true);
  EXPECT_FALSE(state.eligible());
  EXPECT_TRUE(state.up());
  state.set_ejected(false);
  state.set_up(false);
  EXPECT_FALSE(state.eligible());
  state.set_up(true);
  state.set_draining(true);
  EXPECT_FALSE(state.eligible());
  state.set_draining(false);
  EXPECT_TRUE(state.eligible());
  EXPECT_EQ(state.weight_permille(), 1000u);
}

TEST(BackendState, ActiveCountFollowsStartAndEnd) {
  BackendState state("app", "127.0.0.1:1");
  state.on_start();
  state.on_start();
  state.on_end(Outcome::kSuccess);
  EXPECT_EQ(state.active(), 1u);
  state.on_end(Outcome::kConnectFailed);
  EXPECT_EQ(state.active(), 0u);
  EXPECT_EQ(state.failed_attempts(), 1u);
}

}  // namespace
}  // namespace ringlb::health
