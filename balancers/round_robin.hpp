// Smooth weighted round robin, as nginx does it: weights 5:1:1 give a a b a c a a. State is per
// worker, so picks never contend; each worker interleaves its own share.
#pragma once

#include "balancers/balancer.hpp"

namespace ringlb::balancers {

class RoundRobin final : public Balancer {
 public:
  explicit RoundRobin(BalancerInit init);
  std::string describe() const override { return "round_robin (smooth weighted)"; }

 private:
  uint32_t choose(const PickContext& ctx) const override;

  // One cache line apart per worker so workers do not false-share.
  struct alignas(64) WorkerState {
    std::vector<int64_t> current_weight;
  };
  mutable std::vector<WorkerState> per_worker_;
};

std::unique_ptr<Balancer> make_round_robin(BalancerInit init);

}  // namespace ringlb::balancers
