// The Balancer interface every algorithm implements (docs/architecture.md): pure code, no I/O, no
// syscalls. Built by the control thread for one pool of one snapshot, read by all workers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "balancers/hash_key.hpp"
#include "health/backend_state.hpp"
#include "health/pool_health.hpp"

namespace ringlb::balancers {

inline constexpr uint32_t kNoBackend = UINT32_MAX;
inline constexpr uint32_t kDefaultMaglevTableSize = 65537;
inline constexpr uint32_t kDefaultRingPointsPerWeight = 160;

enum class HashMethod : uint8_t { kMaglev, kRing };

// One backend of a pool as balancers see it. The index in the pool's list is its identity.
struct BalancedBackend {
  std::shared_ptr<health::BackendState> state;
  uint32_t weight = 1;  // 0 = never picked
};

struct PickContext {
  // Selects the caller's per-worker state; must be < the `workers` the balancer was built for.
  uint32_t worker = 0;
  // Backend indices already tried for this request; a retry passes them to get the next one.
  std::span<const uint32_t> excluded;
  // The request's key hash (request_key_hash() in hash_key.hpp) for algorithms that hash; nullopt
  // = the request has no key, which consistent hashing answers with round robin and counts.
  std::optional<uint64_t> key_hash = std::nullopt;
};

// Everything an algorithm may need from the pool's configuration, as plain values.
struct BalancerInit {
  std::vector<BalancedBackend> backends;
  uint32_t workers = 1;
  // consistent_hash: what to hash, how, and the optional bound on load.
  std::optional<HashKeySpec> hash_key;
  HashMethod hash_method = HashMethod::kMaglev;
  uint32_t maglev_table_size = kDefaultMaglevTableSize;  // a prime
  uint32_t ring_points_per_weight = kDefaultRingPointsPerWeight;
  uint32_t hash_balance_factor = 0;  // percent (>= 100) of the mean load; 0 = unbounded
  // least_connections: 0 = compare every backend; d >= 2 = the least loaded of d sampled ones.
  uint32_t choices = 0;
  // random, and least_connections with choices: each worker's generator starts from this seed,
  // so a test that sets it gets exactly the same picks every run.
  uint64_t random_seed = 0;
  // The pool's panic state, shared across snapshots; null = never in panic.
  std::shared_ptr<const health::PoolHealth> pool_health;
};

// Why a backend may or may not take a new request, checked in this order.
enum class Verdict : uint8_t {
  kPickable,
  kWeightZero,
  kPanicFail,  // the pool is in panic with panic = "fail": nothing is picked
  kDown,
  kEjected,
  kDraining,
  kExcluded,
  kOverBound
};

const char* to_string(Verdict verdict);

// One backend an algorithm looked at, and what it found.
struct CandidateNote {
  uint32_t backend = kNoBackend;
  Verdict verdict = Verdict::kPickable;
  uint32_t active = 0;  // the active count seen
  uint32_t bound = 0;   // the bounded-load limit it was held to; 0 = none
};

// How a pick was decided, for `ringlb explain`.
struct PickTrace {
  std::string algorithm;  // describe() of the balancer
  std::string method;     // how the first candidate was found: "slot 1234 of 65537", ...
  std::vector<CandidateNote> candidates;  // in the order looked at; the last one was chosen
  uint32_t chosen = kNoBackend;
};

class Balancer {
 public:
  explicit Balancer(BalancerInit init);
  virtual ~Balancer() = default;
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // The index of an eligible backend, or kNoBackend. Data path: called by worker `ctx.worker`
  // only for its own state, never blocks, never allocates. Eligibility is checked live, so an
  // ineligible backend is never returned, even by a table built before it went down. A pool in
  // panic with panic = "fail" picks nothing; with "serve_all", any backend not drained.
  uint32_t pick(const PickContext& ctx) const {
    const health::PanicMode mode = panic();
    if (mode == health::PanicMode::kFail) return kNoBackend;
    return choose(ctx, mode);
  }

  // True when the algorithm precomputes a table from the backends eligible at construction
  // (Maglev, ring). The control thread then builds a new balancer and republishes the snapshot
  // when eligibility changes; until it does, pick() walks past ineligible entries.
  virtual bool rebuilds_on_eligibility_change() const { return false; }

  // Whether pick() reads ctx.key_hash; the session then extracts init().hash_key per request.
  virtual bool uses_key() const { return false; }

  // One line naming the algorithm and its settings: "consistent_hash (maglev, 65537 slots)".
  virtual std::string describe() const = 0;

  // The decision pick() makes for `ctx`, with each candidate looked at. Off the data path
  // (`ringlb explain`): allocates. Advances per-worker state exactly like pick().
  virtual PickTrace explain(const PickContext& ctx) const;

  const std::vector<BalancedBackend>& backends() const { return init_.backends; }
  uint32_t workers() const { return init_.workers; }
  const BalancerInit& init() const { return init_; }

  // What the pool does now (health::PanicMode::kNone unless in panic). One relaxed load.
  health::PanicMode panic() const {
    return init_.pool_health ? init_.pool_health->panic() : health::PanicMode::kNone;
  }

 protected:
  // The algorithm's pick, once panic = "fail" is ruled out. `panic` is the pool's mode, read once
  // by pick() so that no loop over the backends reads it again. Same contract as pick().
  virtual uint32_t choose(const PickContext& ctx, health::PanicMode panic) const = 0;

  // A backend with a weight, as the scans of round robin and least connections read it: the
  // state pointer and the weight side by side, so a scan touches one array and the states.
  struct WeightedBackend {
    const health::BackendState* state;  // kept alive by init_.backends
    uint32_t weight;                    // > 0
    uint32_t index;                     // in backends()
  };

  // Whether a backend may take work, weights and retries aside: eligible, or in a serve_all
  // panic not drained.
  static bool usable(const health::BackendState& state, health::PanicMode panic) {
    if (state.eligible()) return true;
    return panic == health::PanicMode::kServeAll && !state.draining();
  }
  // Whether backend `index` was already tried for this request.
  static bool excluded(const PickContext& ctx, uint32_t index) {
    return !ctx.excluded.empty() &&
           std::find(ctx.excluded.begin(), ctx.excluded.end(), index) != ctx.excluded.end();
  }
  // Whether backend `index` may be picked for this context: weighted, usable, not yet tried.
  bool can_pick(uint32_t index, const PickContext& ctx, health::PanicMode panic) const {
    const BalancedBackend& backend = init_.backends[index];
    return backend.weight != 0 && usable(*backend.state, panic) && !excluded(ctx, index);
  }
  // The weight the algorithms that honour slow start use: weight × the slow start share, in
  // thousandths (a backend at full weight 1 counts 1000).
  static uint64_t effective_weight(const WeightedBackend& backend) {
    return uint64_t{backend.weight} * backend.state->weight_permille();
  }
  uint64_t effective_weight(uint32_t index) const {
    const BalancedBackend& backend = init_.backends[index];
    return uint64_t{backend.weight} * backend.state->weight_permille();
  }
  // The same test as can_pick, saying which condition failed.
  Verdict verdict(uint32_t index, const PickContext& ctx, health::PanicMode panic) const;

  // The backends with weight > 0, in pool order. Fixed at construction.
  const std::vector<WeightedBackend>& weighted() const { return weighted_; }

  BalancerInit init_;

 private:
  std::vector<WeightedBackend> weighted_;
};

}  // namespace ringlb::balancers
