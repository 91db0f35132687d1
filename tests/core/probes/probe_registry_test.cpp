// Tests for core/probes/probe_registry: each `check` a pool may name maps to its kind of probe,
// and "none" to no probe at all.
#include "core/probes/probe_registry.hpp"

#include <gtest/gtest.h>

namespace ringlb {
namespace {

TEST(ProbeRegistryTest, EveryCheckKindHasAFactoryAndNoneHasNone) {
  EXPECT_NE(probe_factory("tcp"), nullptr);
  EXPECT_NE(probe_factory("http"), nullptr);
  EXPECT_NE(probe_factory("tcp"), probe_factory("http"));
  EXPECT_EQ(probe_factory("none"), nullptr);
  EXPECT_EQ(probe_factory("udp"), nullptr);
}

TEST(ProbeRegistryTest, AFactoryBuildsAnIdleProbe) {
  const SocketAddress address;
  const health::HttpCheckSpec http;
  for (const char* check : {"tcp", "http"}) {
    const std::unique_ptr<Probe> probe =
        probe_factory(check)({address, std::chrono::milliseconds(100), http, "10.0.0.1:80"});
    ASSERT_NE(probe, nullptr) << check;
    EXPECT_FALSE(probe->busy()) << check;
  }
}

}  // namespace
}  // namespace ringlb
