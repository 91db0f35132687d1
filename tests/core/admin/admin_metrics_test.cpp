// GET /metrics (core/admin/admin_metrics.cpp): the HTTP/2 families a scraper reads per listener,
// with their HELP and TYPE, summed over the workers' slots.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "tests/core/admin/admin_views_fixture.hpp"

namespace ringlb {
namespace {

class AdminMetrics : public ::testing::Test, public AdminViewsFixture {};

// Each line as a whole: the text holds "\n" + line + "\n".
::testing::AssertionResult has_line(const std::string& text, const std::string& line) {
  if (("\n" + text).find("\n" + line + "\n") != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no line \"" << line << "\" in:\n" << text;
}

TEST_F(AdminMetrics, H2FamiliesAreDeclaredWithHelpAndType) {
  const std::string text = metrics();
  const std::pair<const char*, const char*> families[] = {
      {"ringlb_h2_connections_total", "counter"}, {"ringlb_h2_active_connections", "gauge"},
      {"ringlb_h2_streams_total", "counter"},     {"ringlb_h2_streams_reset_total", "counter"},
      {"ringlb_h2_goaway_sent_total", "counter"},
  };
  for (const auto& [name, type] : families) {
    const std::string type_line = std::string("# TYPE ") + name + " " + type;
    EXPECT_TRUE(has_line(text, type_line));
    EXPECT_EQ(text.find(type_line), text.rfind(type_line)) << name << " declared twice";
    EXPECT_NE(text.find(std::string("\n# HELP ") + name + " "), std::string::npos) << name;
  }
}

TEST_F(AdminMetrics, H2CountersAreSummedOverWorkersPerListener) {
  worker(0).h2_connections.add(3);
  worker(1).h2_connections.add(2);
  worker(0).h2_active_up.add(3);
  worker(0).h2_active_down.add(1);
  worker(1).h2_active_up.add(2);
  worker(0).h2_streams.add(40);
  worker(1).h2_streams.add(2);
  worker(0).h2_streams_reset_by_client.add(7);
  worker(1).h2_streams_refused.add(4);
  worker(0).h2_goaway_drain.add(1);
  worker(1).h2_goaway_drain.add(1);
  worker(1).h2_goaway_flood.add(3);
  worker(0).h2_goaway_protocol.add(5);
  const std::string text = metrics();
  EXPECT_TRUE(has_line(text, R"(ringlb_h2_connections_total{listener="web"} 5)"));
  EXPECT_TRUE(has_line(text, R"(ringlb_h2_active_connections{listener="web"} 4)"));
  EXPECT_TRUE(has_line(text, R"(ringlb_h2_streams_total{listener="web"} 42)"));
  EXPECT_TRUE(has_line(text, R"(ringlb_h2_streams_reset_total{listener="web",reason="client"} 7)"));
  EXPECT_TRUE(
      has_line(text, R"(ringlb_h2_streams_reset_total{listener="web",reason="refused"} 4)"));
  EXPECT_TRUE(has_line(text, R"(ringlb_h2_goaway_sent_total{listener="web",reason="drain"} 2)"));
  EXPECT_TRUE(has_line(text, R"(ringlb_h2_goaway_sent_total{listener="web",reason="flood"} 3)"));
  EXPECT_TRUE(has_line(text, R"(ringlb_h2_goaway_sent_total{listener="web",reason="protocol"} 5)"));
}

TEST_F(AdminMetrics, H2ActiveConnectionsNeverWrapBelowZero) {
  // A scrape that sees a worker's close before the open it follows (another worker's slot).
  worker(0).h2_active_down.add(1);
  EXPECT_TRUE(has_line(metrics(), R"(ringlb_h2_active_connections{listener="web"} 0)"));
}

}  // namespace
}  // namespace ringlb
