// Tests for core/discovery/dns_schedule: refresh, TTL, floor and jitter, and logging a failure
// once per outage.
#include "core/discovery/dns_schedule.hpp"

#include <gtest/gtest.h>

namespace ringlb::discovery {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(DnsSchedule, RefreshWhenTheTtlIsLonger) {
  EXPECT_EQ(refresh_delay(seconds(5), seconds(30), 0.0), seconds(5));
  EXPECT_EQ(refresh_delay(seconds(5), std::nullopt, 0.0), seconds(5));
}

TEST(DnsSchedule, AShorterTtlWinsDownToTheFloor) {
  EXPECT_EQ(refresh_delay(seconds(5), seconds(2), 0.0), seconds(2));
  EXPECT_EQ(refresh_delay(seconds(5), seconds(0), 0.0), config::kMinDnsRefresh);
  EXPECT_EQ(refresh_delay(seconds(5), seconds(0), 0.99), config::kMinDnsRefresh);
}

TEST(DnsSchedule, JitterOnlyShortensByAtMostATenth) {
  EXPECT_EQ(refresh_delay(seconds(10), std::nullopt, 0.5), milliseconds(9500));
  EXPECT_EQ(refresh_delay(seconds(10), std::nullopt, 1.0), seconds(9));
  EXPECT_EQ(refresh_delay(seconds(10), seconds(4), 0.5), milliseconds(3800));
}

TEST(DnsSchedule, TheFirstLookupIsDueAtOnceAndNoneOverlaps) {
  RefreshSchedule schedule(seconds(5));
  const auto start = RefreshSchedule::Clock::now();
  EXPECT_TRUE(schedule.due(start));
  schedule.started();
  EXPECT_FALSE(schedule.due(start + seconds(60)));  // still in flight: no second lookup
  EXPECT_FALSE(schedule.next_at());
  schedule.succeeded(start, seconds(2), 0.0);
  EXPECT_FALSE(schedule.due(start + milliseconds(1999)));
  EXPECT_TRUE(schedule.due(start + seconds(2)));
}

TEST(DnsSchedule, AFailureIsLoggedOncePerOutage) {
  RefreshSchedule schedule(seconds(5));
  const auto start = RefreshSchedule::Clock::now();
  schedule.started();
  EXPECT_TRUE(schedule.failed(start, 0.0));  // the first: logged
  EXPECT_TRUE(schedule.failing());
  EXPECT_TRUE(schedule.due(start + seconds(5)));
  schedule.started();
  EXPECT_FALSE(schedule.failed(start + seconds(5), 0.0));  // the same outage: not again
  schedule.started();
  EXPECT_TRUE(schedule.succeeded(start + seconds(10), std::nullopt, 0.0));  // "answers again"
  EXPECT_FALSE(schedule.failing());
  schedule.started();
  EXPECT_FALSE(schedule.succeeded(start + seconds(15), std::nullopt, 0.0));
  schedule.started();
  EXPECT_TRUE(schedule.failed(start + seconds(20), 0.0));  // a new outage: logged
}

}  // namespace
}  // namespace ringlb::discovery
