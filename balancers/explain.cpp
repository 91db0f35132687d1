// explain and simulate over the real balancers, so their answers are the data path's answers.
#include "balancers/explain.hpp"

#include <xxhash.h>

namespace ringlb::balancers {

PickTrace explain_pick(const Balancer& balancer, std::optional<uint64_t> key_hash) {
  return balancer.explain({.worker = 0, .excluded = {}, .key_hash = key_hash});
}

uint64_t sample_key_hash(uint64_t index) { return XXH3_64bits(&index, sizeof(index)); }

RemovalSimulation simulate_removal(BalancerFactory factory, const BalancerInit& init,
                                   uint32_t removed, uint64_t keys) {
  BalancerInit without = init;
  without.backends.erase(without.backends.begin() + removed);
  const std::unique_ptr<Balancer> before = factory(init);
  const std::unique_ptr<Balancer> after = factory(std::move(without));

  RemovalSimulation result;
  result.keys = keys;
  for (const BalancedBackend& backend : init.backends) {
    result.loads.push_back({backend.state->address(), 0, 0});
  }
  for (uint64_t i = 0; i < keys; ++i) {
    const uint64_t key_hash = sample_key_hash(i);
    const uint32_t first = before->pick({.worker = 0, .excluded = {}, .key_hash = key_hash});
    uint32_t second = after->pick({.worker = 0, .excluded = {}, .key_hash = key_hash});
    if (second != kNoBackend && second >= removed) ++second;  // back to init's indices
    if (first != kNoBackend) ++result.loads[first].before;
    if (second != kNoBackend) ++result.loads[second].after;
    if (first != second) ++result.moved;
    if (first == removed) ++result.on_removed;
  }
  return result;
}

}  // namespace ringlb::balancers
