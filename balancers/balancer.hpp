// The Balancer interface every algorithm implements (design.md §3): pure code, no I/O, no
// syscalls. Built by the control thread for one pool of one snapshot, read by all workers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "health/backend_state.hpp"

namespace ringlb::balancers {

inline constexpr uint32_t kNoBackend = UINT32_MAX;

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
};

struct BalancerInit {
  std::vector<BalancedBackend> backends;
  uint32_t workers = 1;
};

class Balancer {
 public:
  explicit Balancer(BalancerInit init) : init_(std::move(init)) {}
  virtual ~Balancer() = default;
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // The index of an eligible backend, or kNoBackend. Data path: called by worker `ctx.worker`
  // only for its own state, never blocks, never allocates.
  virtual uint32_t pick(const PickContext& ctx) const = 0;

  // Called off the data path (control thread) when eligibility or weights changed, so table
  // based algorithms can rebuild. Round robin needs nothing.
  virtual void rebuild() {}

  const std::vector<BalancedBackend>& backends() const { return init_.backends; }
  uint32_t workers() const { return init_.workers; }

 protected:
  // Whether backend `index` may be picked for this context: eligible, weighted, not yet tried.
  bool can_pick(uint32_t index, const PickContext& ctx) const;

  BalancerInit init_;
};

}  // namespace ringlb::balancers
