// Weighted least connections: the backend with the fewest active connections (L4) or in-flight
// requests (L7) per unit of weight, read from the shared BackendState counts. Ties go round robin
// (smooth weighted, per worker), so an idle pool still honours the weights. A full pick reads
// every backend's live count, O(N). With `choices = d` it compares only d backends drawn at
// random, so a large pool costs O(d) per pick: the setting for pools of more than a few dozen.
#pragma once

#include <vector>

#include "balancers/balancer.hpp"
#include "balancers/random.hpp"

namespace ringlb::balancers {

class LeastConnections final : public Balancer {
 public:
  explicit LeastConnections(BalancerInit init);
  std::string describe() const override;

 private:
  uint32_t choose(const PickContext& ctx, health::PanicMode panic) const override;
  // A backend tied for the least load in the current scan: its position in weighted() and its
  // effective weight, as read by that scan.
  struct Tie {
    uint32_t position;
    int64_t weight;
  };
  struct alignas(64) WorkerState {
    std::vector<int64_t> current_weight;  // smooth round robin among tied backends, per weighted()
    std::vector<Tie> ties;                // scratch for one scan, sized once: a pick never grows it
    SplitMix64 generator;
  };

  uint32_t pick_from_all(const PickContext& ctx, health::PanicMode panic, WorkerState& state) const;
  // Scans the weighted backends `pickable` accepts and writes those tied for the least load per
  // unit of effective weight to `ties`, in pool order; returns how many.
  template <typename Pickable>
  uint32_t find_least_loaded(Tie* ties, Pickable&& pickable) const;
  uint32_t pick_from_sample(const PickContext& ctx, health::PanicMode panic,
                            WorkerState& state) const;
  // Whether backend a carries less load per weight than backend b (active counts passed in).
  bool less_loaded(uint32_t a, uint64_t active_a, uint32_t b, uint64_t active_b) const;

  const WeightedSampler sampler_;
  mutable std::vector<WorkerState> per_worker_;
};

std::unique_ptr<Balancer> make_least_connections(BalancerInit init);

}  // namespace ringlb::balancers
