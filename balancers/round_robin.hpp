// Smooth weighted round robin, as nginx does it: weights 5:1:1 give a a b a c a a. State is per
// worker, so picks never contend; each worker interleaves its own share. A pick reads every
// backend's live eligibility and slow start share, so it costs O(N): nothing tells a balancer
// that a BackendState changed, so there is no schedule it could safely reuse between picks.
#pragma once

#include <span>
#include <vector>

#include "balancers/balancer.hpp"

namespace ringlb::balancers {

class RoundRobin final : public Balancer {
 public:
  explicit RoundRobin(BalancerInit init);
  std::string describe() const override { return "round_robin (smooth weighted)"; }

 private:
  uint32_t choose(const PickContext& ctx, health::PanicMode panic) const override;
  // One pass of smooth weighted round robin over `candidates`, whose current weights are
  // `current`: the position of the winner, or kNoBackend. `pickable` says whether a candidate
  // takes part, so the common case compiles to a loop with no test it does not need.
  template <typename Pickable>
  static uint32_t smooth_pass(std::span<const WeightedBackend> candidates, int64_t* current,
                              Pickable&& pickable);

  // One cache line apart per worker so workers do not false-share.
  struct alignas(64) WorkerState {
    std::vector<int64_t> current_weight;  // one per weighted() backend, in its order
  };
  mutable std::vector<WorkerState> per_worker_;
};

std::unique_ptr<Balancer> make_round_robin(BalancerInit init);

}  // namespace ringlb::balancers
