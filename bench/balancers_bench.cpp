// What a pick and a table build cost: BM_Pick/<algorithm>/<backends>, BM_MaglevBuild/<backends>
// at M = 65537, BM_RingBuild/<backends> at 160 points per weight. Issue 4 sets the targets.
// BM_LiveStateScan/<backends> reads each backend's eligibility and slow start share and nothing
// else: the least a pick that looks at every backend (least connections without `choices`, round
// robin while it records or when its cycle is too long) can cost, since that state lives in one
// BackendState per backend. BM_Pick/round_robin replays the worker's recorded cycle: 4.0, 4.2 and
// 4.0 ns at 10, 100 and 1000 backends, where scanning every pick took 14.6, 151 and 1304 ns
// (RelWithDebInfo, one core of the 2-core dev VM). BM_Pick/round_robin_scanned keeps the scan:
// its weights make a cycle longer than RoundRobin::kMaxCycle. It measured 17-21, 172-175 and
// 1480-1570 ns against 15-17, 140 and 1250-1450 ns for the same weights before the cycle cache,
// on a VM too noisy to say how much of that gap is the cache's bookkeeping and how much placement.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "balancers/hash_key.hpp"
#include "balancers/maglev.hpp"
#include "balancers/random.hpp"
#include "balancers/registry.hpp"
#include "balancers/ring_hash.hpp"
#include "balancers/round_robin.hpp"

namespace ringlb::balancers {
namespace {

constexpr size_t kKeys = 4096;  // a power of two: the key index wraps with a mask

struct Algorithm {
  const char* name;
  const char* balance;
  void (*configure)(BalancerInit&);
  bool hash_in_loop;  // hash a header value per pick, as a session would
};

const Algorithm kAlgorithms[] = {
    {"round_robin", "round_robin", [](BalancerInit&) {}, false},
    {"round_robin_scanned", "round_robin",
     [](BalancerInit& i) {
       for (BalancedBackend& backend : i.backends) backend.weight = RoundRobin::kMaxCycle + 1;
       i.backends[0].weight += 1;  // weights with no common divisor: one cycle is all picks
     },
     false},
    {"least_connections", "least_connections", [](BalancerInit&) {}, false},
    {"least_connections_2_choices", "least_connections", [](BalancerInit& i) { i.choices = 2; },
     false},
    {"random", "random", [](BalancerInit&) {}, false},
    {"maglev", "consistent_hash", [](BalancerInit&) {}, false},
    {"maglev_with_key_hash", "consistent_hash", [](BalancerInit&) {}, true},
    {"maglev_bounded_125", "consistent_hash", [](BalancerInit& i) { i.hash_balance_factor = 125; },
     false},
    {"ring", "consistent_hash", [](BalancerInit& i) { i.hash_method = HashMethod::kRing; }, false},
};

std::string address(uint32_t i) {
  return "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1:8080";
}

// N backends with a spread of open connections (0..15), as a busy pool has.
BalancerInit busy_pool(uint32_t backends) {
  BalancerInit init;
  init.hash_key = parse_hash_key("header:X-User-Id");
  SplitMix64 random(1);
  for (uint32_t i = 0; i < backends; ++i) {
    auto state = std::make_shared<health::BackendState>("bench", address(i));
    for (uint32_t open = random.below(16); open > 0; --open) state->on_start();
    init.backends.push_back({std::move(state), 1});
  }
  return init;
}

void pick(benchmark::State& state, const Algorithm& algorithm) {
  BalancerInit init = busy_pool(static_cast<uint32_t>(state.range(0)));
  algorithm.configure(init);
  const std::unique_ptr<Balancer> balancer = builtin_balancers().make(algorithm.balance, init);
  std::vector<std::string> values;
  std::vector<uint64_t> hashes;
  for (size_t i = 0; i < kKeys; ++i) {
    values.push_back("user-" + std::to_string(i * 7919));
    hashes.push_back(hash_key_bytes(values.back()));
  }
  size_t next = 0;
  for (auto _ : state) {
    const size_t key = next++ & (kKeys - 1);
    const uint64_t key_hash = algorithm.hash_in_loop ? hash_key_bytes(values[key]) : hashes[key];
    benchmark::DoNotOptimize(balancer->pick({.worker = 0, .excluded = {}, .key_hash = key_hash}));
  }
  state.SetItemsProcessed(state.iterations());
}

void live_state_scan(benchmark::State& state) {
  const BalancerInit init = busy_pool(static_cast<uint32_t>(state.range(0)));
  std::vector<const health::BackendState*> states;
  for (const BalancedBackend& backend : init.backends) states.push_back(backend.state.get());
  for (auto _ : state) {
    uint64_t weight = 0;
    for (const health::BackendState* backend : states) {
      if (backend->eligible()) weight += backend->weight_permille();
    }
    benchmark::DoNotOptimize(weight);
  }
}

std::vector<HashNode> nodes(const std::vector<std::string>& addresses) {
  std::vector<HashNode> result;
  for (uint32_t i = 0; i < addresses.size(); ++i) result.push_back({addresses[i], 1, i});
  return result;
}

std::vector<std::string> addresses(int64_t count) {
  std::vector<std::string> result;
  for (uint32_t i = 0; i < count; ++i) result.push_back(address(i));
  return result;
}

void maglev_build(benchmark::State& state) {
  const std::vector<std::string> names = addresses(state.range(0));
  const std::vector<HashNode> backends = nodes(names);
  for (auto _ : state) {
    MaglevTable table(backends, kDefaultMaglevTableSize);
    benchmark::DoNotOptimize(table.slots().data());
  }
}

void ring_build(benchmark::State& state) {
  const std::vector<std::string> names = addresses(state.range(0));
  const std::vector<HashNode> backends = nodes(names);
  for (auto _ : state) {
    RingHash ring(backends, kDefaultRingPointsPerWeight);
    benchmark::DoNotOptimize(ring.points().data());
  }
}

void register_benchmarks() {
  for (const Algorithm& algorithm : kAlgorithms) {
    benchmark::RegisterBenchmark((std::string("BM_Pick/") + algorithm.name).c_str(), pick,
                                 algorithm)
        ->Arg(10)
        ->Arg(100)
        ->Arg(1000);
  }
  benchmark::RegisterBenchmark("BM_LiveStateScan", live_state_scan)->Arg(10)->Arg(100)->Arg(1000);
  benchmark::RegisterBenchmark("BM_MaglevBuild", maglev_build)
      ->Arg(100)
      ->Arg(1000)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_RingBuild", ring_build)
      ->Arg(100)
      ->Arg(1000)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace
}  // namespace ringlb::balancers

int main(int argc, char** argv) {
  ringlb::balancers::register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
