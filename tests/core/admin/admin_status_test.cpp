// GET /status (core/admin/admin_status.cpp): each listener's HTTP/2 connections, open
// connections, streams, resets and GOAWAYs, summed over the workers' slots.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/core/admin/admin_views_fixture.hpp"

namespace ringlb {
namespace {

class AdminStatus : public ::testing::Test, public AdminViewsFixture {
 protected:
  nlohmann::json web() const {
    const nlohmann::json status = nlohmann::json::parse(this->status());
    EXPECT_EQ(status["listeners"].size(), 1u);
    return status["listeners"][0];
  }
};

TEST_F(AdminStatus, AListenerWithoutH2TrafficShowsZeros) {
  const nlohmann::json listener = web();
  EXPECT_EQ(listener["h2_connections"], 0);
  EXPECT_EQ(listener["h2_active"], 0);
  EXPECT_EQ(listener["h2_streams"], 0);
  EXPECT_EQ(listener["h2_streams_reset"], nlohmann::json({{"client", 0}, {"refused", 0}}));
  EXPECT_EQ(listener["h2_goaway_sent"],
            nlohmann::json({{"drain", 0}, {"flood", 0}, {"protocol", 0}}));
}

TEST_F(AdminStatus, H2CountersAreSummedOverWorkers) {
  worker(0).h2_connections.add(3);
  worker(1).h2_connections.add(2);
  worker(0).h2_active_up.add(3);
  worker(1).h2_active_up.add(2);
  worker(1).h2_active_down.add(2);
  worker(0).h2_streams.add(100);
  worker(1).h2_streams.add(1);
  worker(1).h2_streams_reset_by_client.add(9);
  worker(0).h2_streams_refused.add(1);
  worker(0).h2_goaway_drain.add(2);
  worker(1).h2_goaway_flood.add(1);
  worker(1).h2_goaway_protocol.add(6);
  const nlohmann::json listener = web();
  EXPECT_EQ(listener["h2_connections"], 5);
  EXPECT_EQ(listener["h2_active"], 3);
  EXPECT_EQ(listener["h2_streams"], 101);
  EXPECT_EQ(listener["h2_streams_reset"], nlohmann::json({{"client", 9}, {"refused", 1}}));
  EXPECT_EQ(listener["h2_goaway_sent"],
            nlohmann::json({{"drain", 2}, {"flood", 1}, {"protocol", 6}}));
}

TEST_F(AdminStatus, H2FieldsFollowTheListenersOtherCounters) {
  // docs/admin.md lists the keys in order: h2 after retries_total.
  const nlohmann::ordered_json listener = nlohmann::ordered_json::parse(status())["listeners"][0];
  std::vector<std::string> keys;
  for (const auto& [key, value] : listener.items()) keys.push_back(key);
  const std::vector<std::string> tail(keys.end() - 6, keys.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"retries_total", "h2_connections", "h2_active",
                                            "h2_streams", "h2_streams_reset", "h2_goaway_sent"}));
}

}  // namespace
}  // namespace ringlb
