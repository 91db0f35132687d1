// Shared by the balancers/ tests: pools of fresh backends, and ways to drive picks and read the
// result by address.
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
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

}  // namespace ringlb::balancers
