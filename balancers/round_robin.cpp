// Smooth weighted round robin (nginx's ngx_http_upstream_get_peer): add each weight to its
// current weight, pick the largest, subtract the total from the winner. Ineligible backends are
// skipped without touching their current weight, so the others keep their shares. Weights are
// effective weights, so a backend in slow start gets its ramping share.
#include "balancers/round_robin.hpp"

namespace ringlb::balancers {

RoundRobin::RoundRobin(BalancerInit init) : Balancer(std::move(init)) {
  per_worker_.resize(init_.workers);
  for (WorkerState& state : per_worker_) state.current_weight.assign(weighted().size(), 0);
}

template <typename Pickable>
uint32_t RoundRobin::smooth_pass(std::span<const WeightedBackend> candidates, int64_t* current,
                                 Pickable&& pickable) {
  int64_t* best = nullptr;
  int64_t best_current = INT64_MIN;
  int64_t total = 0;
  int64_t* own = current;
  for (const WeightedBackend& candidate : candidates) {
    int64_t* const mine = own++;
    if (!pickable(candidate)) continue;
    const auto weight = static_cast<int64_t>(effective_weight(candidate));
    const int64_t raised = *mine + weight;
    *mine = raised;
    total += weight;
    // Strictly greater: the first of equal current weights wins, as in nginx.
    if (raised > best_current) {
      best = mine;
      best_current = raised;
    }
  }
  if (best == nullptr) return kNoBackend;
  *best -= total;
  return static_cast<uint32_t>(best - current);
}

uint32_t RoundRobin::choose(const PickContext& ctx, health::PanicMode panic) const {
  const std::span<const WeightedBackend> candidates = weighted();
  int64_t* current = per_worker_[ctx.worker].current_weight.data();
  // The common case (no panic, nothing tried yet) scans with a plain eligibility test.
  const uint32_t best =
      panic == health::PanicMode::kNone && ctx.excluded.empty()
          ? smooth_pass(candidates, current,
                        [](const WeightedBackend& c) { return c.state->eligible(); })
          : smooth_pass(candidates, current, [&](const WeightedBackend& c) {
              return usable(*c.state, panic) && !excluded(ctx, c.index);
            });
  return best == kNoBackend ? kNoBackend : candidates[best].index;
}

std::unique_ptr<Balancer> make_round_robin(BalancerInit init) {
  return std::make_unique<RoundRobin>(std::move(init));
}

}  // namespace ringlb::balancers
