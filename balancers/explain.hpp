// The logic behind `ringlb explain` and `ringlb simulate`: what a pool does with one key, and
// what removing a backend does to many keys. Pure functions over balancers, returning values
// the CLI prints (core/explain.cpp); nothing here reads files or prints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "balancers/balancer.hpp"
#include "balancers/registry.hpp"

namespace ringlb::balancers {

// The decision `balancer` makes for a request whose key hashes to `key_hash` (nullopt = no key),
// as worker 0 with nothing tried yet.
PickTrace explain_pick(const Balancer& balancer, std::optional<uint64_t> key_hash);

struct BackendLoad {
  std::string address;
  uint64_t before = 0;  // sample keys mapped here with every backend present
  uint64_t after = 0;   // ... and with the removed one gone
};

struct RemovalSimulation {
  uint64_t keys = 0;
  uint64_t moved = 0;              // keys whose backend changed
  uint64_t on_removed = 0;         // keys the removed backend held: the fewest that must move
  std::vector<BackendLoad> loads;  // in pool order

  double moved_share() const { return keys == 0 ? 0 : double(moved) / double(keys); }
  double necessary_share() const { return keys == 0 ? 0 : double(on_removed) / double(keys); }
};

// Builds the pool's balancer from `init` and again without backend `removed` (an index into
// init.backends), and maps `keys` sample key hashes through both. The keys are looked up one by
// one with no connection open, so the mapping is the pure hash mapping (a load bound never
// binds). Off the data path: allocates, O(keys) picks.
RemovalSimulation simulate_removal(BalancerFactory factory, const BalancerInit& init,
                                   uint32_t removed, uint64_t keys);

// The hash of sample key number `index`: uniform 64-bit values, the same on every run.
uint64_t sample_key_hash(uint64_t index);

}  // namespace ringlb::balancers
