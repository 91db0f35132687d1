// Smooth weighted round robin (nginx's ngx_http_upstream_get_peer): add each weight to its
// current weight, pick the largest, subtract the total from the winner. Ineligible backends are
// skipped without touching their current weight, so the others keep their shares. Weights are
// effective weights, so a backend in slow start gets its ramping share.
#include "balancers/round_robin.hpp"

namespace ringlb::balancers {

RoundRobin::RoundRobin(BalancerInit init) : Balancer(std::move(init)) {
  per_worker_.resize(init_.workers);
  for (WorkerState& state : per_worker_) state.current_weight.assign(init_.backends.size(), 0);
}

uint32_t RoundRobin::choose(const PickContext& ctx) const {
  std::vector<int64_t>& current = per_worker_[ctx.worker].current_weight;
  uint32_t best = kNoBackend;
  int64_t total = 0;
  for (uint32_t i = 0; i < init_.backends.size(); ++i) {
    if (!can_pick(i, ctx)) continue;
    const auto weight = static_cast<int64_t>(effective_weight(i));
    current[i] += weight;
    total += weight;
    if (best == kNoBackend || current[i] > current[best]) best = i;
  }
  if (best != kNoBackend) current[best] -= total;
  return best;
}

std::unique_ptr<Balancer> make_round_robin(BalancerInit init) {
  return std::make_unique<RoundRobin>(std::move(init));
}

}  // namespace ringlb::balancers
