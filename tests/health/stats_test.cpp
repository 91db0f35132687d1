// The per-worker counters the admin API sums: each worker's slot is its own, a histogram puts a
// duration in the first bucket whose bound holds it, and the sum over workers is what a scrape
// reports.
#include "health/stats.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace ringlb::health {
namespace {

using std::chrono::microseconds;

TEST(LatencyHistogram, PutsADurationInTheFirstBucketThatHoldsIt) {
  LatencyHistogram histogram;
  histogram.observe(microseconds(0));         // <= 0.5 ms
  histogram.observe(microseconds(500));       // <= 0.5 ms: bounds are inclusive ("le")
  histogram.observe(microseconds(501));       // <= 1 ms
  histogram.observe(microseconds(3000));      // <= 5 ms
  histogram.observe(microseconds(60000000));  // over 10 s: +Inf
  histogram.observe(microseconds(-5));        // a clock step back counts as 0
  EXPECT_EQ(histogram.bucket(0), 3u);
  EXPECT_EQ(histogram.bucket(1), 1u);
  EXPECT_EQ(histogram.bucket(2), 0u);
  EXPECT_EQ(histogram.bucket(3), 1u);
  EXPECT_EQ(histogram.bucket(LatencyHistogram::kBuckets - 1), 1u);
  EXPECT_EQ(histogram.sum_us(), 0u + 500 + 501 + 3000 + 60000000);
}

TEST(StatusClass, MapsStatusesToTheirHundreds) {
  EXPECT_EQ(status_class_index(100), 0u);
  EXPECT_EQ(status_class_index(204), 1u);
  EXPECT_EQ(status_class_index(308), 2u);
  EXPECT_EQ(status_class_index(404), 3u);
  EXPECT_EQ(status_class_index(503), 4u);
  EXPECT_EQ(status_class_index(599), 4u);
}

TEST(PerWorker, SumsEveryWorkersSlotWrittenFromItsOwnThread) {
  PerWorker<ListenerWorkerStats> stats(4);
  std::vector<std::thread> workers;
  for (uint32_t id = 0; id < 4; ++id) {
    workers.emplace_back([&stats, id] {
      for (uint32_t i = 0; i < 10000 * (id + 1); ++i) stats.at(id).requests.add();
      stats.at(id).active_up.add(3);
      stats.at(id).active_down.add(1);
    });
  }
  for (std::thread& worker : workers) worker.join();
  EXPECT_EQ(stats.sum([](const ListenerWorkerStats& s) { return s.requests.get(); }),
            10000u + 20000u + 30000u + 40000u);
  const uint64_t up = stats.sum([](const ListenerWorkerStats& s) { return s.active_up.get(); });
  const uint64_t down = stats.sum([](const ListenerWorkerStats& s) { return s.active_down.get(); });
  EXPECT_EQ(up - down, 8u);
}

TEST(PerWorker, SlotsDoNotShareACacheLine) {
  PerWorker<BackendWorkerStats> stats(2);
  const auto first = reinterpret_cast<uintptr_t>(&stats.at(0));
  const auto second = reinterpret_cast<uintptr_t>(&stats.at(1));
  EXPECT_EQ(first % 64, 0u);
  EXPECT_GE(second - first, 64u);
}

}  // namespace
}  // namespace ringlb::health
