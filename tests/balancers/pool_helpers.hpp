// Shared by the balancers/ tests: pools of fresh backends, and ways to drive picks and read the
// result by address.
#pragma once

#include <array>
#include <initializer_list>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "balancers/balancer.hpp"

namespace ringlb::balancers {

// Backends named 'a', 'b', ... with the given weights (round robin tests read names by letter).
inline BalancerInit lettered_pool(std::initializer_list<uint32_t> weights, uint32_t workers = 1) {
  BalancerInit init;
  init.workers = workers;
  char name = 'a';
  for (uint32_t weight : weights) {
    auto state = std::make_shared<health::BackendState>("pool", std::string(1, name++));
    init.backends.push_back({state, weight});
  }
  return init;
}

// `count` backends 10.<i/250>.<i%250>.1:8080, all with weight `weight`.
inline BalancerInit address_pool(uint32_t count, uint32_t weight = 1) {
  BalancerInit init;
  for (uint32_t i = 0; i < count; ++i) {
    std::string address =
        "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1:8080";
    init.backends.push_back({std::make_shared<health::BackendState>("pool", address), weight});
  }
  return init;
}

// The letters of `count` successive picks; '-' for no backend.
inline std::string picks(const Balancer& balancer, int count, uint32_t worker = 0) {
  std::string sequence;
  for (int i = 0; i < count; ++i) {
    uint32_t index = balancer.pick({.worker = worker, .excluded = {}});
    sequence += index == kNoBackend ? '-' : balancer.backends()[index].state->address()[0];
  }
  return sequence;
}

// How many of `count` picks each backend index got.
inline std::vector<uint64_t> pick_counts(const Balancer& balancer, int count) {
  std::vector<uint64_t> counts(balancer.backends().size(), 0);
  for (int i = 0; i < count; ++i) {
    uint32_t index = balancer.pick({.worker = 0, .excluded = {}});
    if (index != kNoBackend) ++counts[index];
  }
  return counts;
}

inline uint32_t pick_key(const Balancer& balancer, uint64_t key_hash,
                         std::span<const uint32_t> excluded = {}) {
  return balancer.pick({.worker = 0, .excluded = excluded, .key_hash = key_hash});
}

// Changes a pool the way a running proxy does, at random but the same on every run: backends go
// down and up, are ejected and drained, ramp through slow start, gain and lose connections, and
// the pool enters and leaves panic. Requests now and then come back as retries.
class PoolChurn {
 public:
  PoolChurn(const std::vector<BalancedBackend>& backends, health::PoolHealth& pool, uint32_t seed)
      : backends_(backends), pool_(pool), random_(seed) {}

  // One change to one backend, or now and then to the pool's panic mode.
  void change() {
    health::BackendState& state = *backends_[random_() % backends_.size()].state;
    switch (random_() % 9) {
      case 0:
        state.set_up(random_() % 4 != 0);
        break;
      case 1:
        state.set_ejected(random_() % 4 == 0);
        break;
      case 2:
        state.set_draining(random_() % 4 == 0);
        break;
      case 3:
      case 4:
        state.set_weight_permille(kRamp[random_() % kRamp.size()]);
        break;
      case 5:
        state.on_start();
        break;
      case 6:
      case 7:
        if (state.active() > 0) state.on_end(health::Outcome::kSuccess);
        break;
      default:
        pool_.set_panic(kPanics[random_() % kPanics.size()]);
        break;
    }
  }

  // The backends a request already tried: usually none, sometimes one or two.
  std::span<const uint32_t> tried() {
    const uint32_t count = random_() % 4 == 0 ? 1 + random_() % 2 : 0;
    for (uint32_t i = 0; i < count; ++i) tried_[i] = random_() % backends_.size();
    return {tried_.data(), count};
  }

 private:
  static constexpr std::array<uint32_t, 5> kRamp = {10, 100, 250, 1000, 1000};
  static constexpr std::array<health::PanicMode, 5> kPanics = {
      health::PanicMode::kNone, health::PanicMode::kNone, health::PanicMode::kNone,
      health::PanicMode::kServeAll, health::PanicMode::kFail};

  const std::vector<BalancedBackend>& backends_;
  health::PoolHealth& pool_;
  std::mt19937 random_;
  std::array<uint32_t, 2> tried_{};
};

}  // namespace ringlb::balancers
