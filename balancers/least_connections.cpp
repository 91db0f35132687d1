// Least connections over the shared active counts. Loads are compared as active_a * weight_b <
// active_b * weight_a, so no division and no rounding; the weights are effective weights, so a
// backend in slow start is held to its ramping share of the load. A full pick scans once, noting
// the backends tied for the least load, and shares the tie among them by smooth weighted round
// robin, as nginx's least_conn does with its second scan.
#include "balancers/least_connections.hpp"

#include <array>

namespace ringlb::balancers {
namespace {

// The most backends a sample compares; config validation holds `choices` to this.
constexpr uint32_t kMaxChoices = 16;
// Draws per wanted candidate before giving up on sampling and scanning everything.
constexpr uint32_t kDrawsPerChoice = 4;

}  // namespace

LeastConnections::LeastConnections(BalancerInit init)
    : Balancer(std::move(init)), sampler_(init_.backends) {
  for (uint32_t worker = 0; worker < init_.workers; ++worker) {
    per_worker_.push_back({std::vector<int64_t>(weighted().size(), 0),
                           std::vector<Tie>(weighted().size()),
                           worker_generator(init_.random_seed, worker)});
  }
}

std::string LeastConnections::describe() const {
  if (init_.choices < 2) return "least_connections (weighted)";
  return "least_connections (weighted, least loaded of " + std::to_string(init_.choices) +
         " random choices)";
}

bool LeastConnections::less_loaded(uint32_t a, uint64_t active_a, uint32_t b,
                                   uint64_t active_b) const {
  return active_a * effective_weight(b) < active_b * effective_weight(a);
}

uint32_t LeastConnections::choose(const PickContext& ctx, health::PanicMode panic) const {
  WorkerState& state = per_worker_[ctx.worker];
  if (init_.choices >= 2) return pick_from_sample(ctx, panic, state);
  return pick_from_all(ctx, panic, state);
}

uint32_t LeastConnections::pick_from_all(const PickContext& ctx, health::PanicMode panic,
                                         WorkerState& state) const {
  // The common case (no panic, nothing tried yet) scans with a plain eligibility test.
  const uint32_t tied =
      panic == health::PanicMode::kNone && ctx.excluded.empty()
          ? find_least_loaded(state.ties.data(),
                              [](const WeightedBackend& c) { return c.state->eligible(); })
          : find_least_loaded(state.ties.data(), [&](const WeightedBackend& c) {
              return usable(*c.state, panic) && !excluded(ctx, c.index);
            });
  if (tied == 0) return kNoBackend;
  const std::vector<WeightedBackend>& candidates = weighted();
  if (tied == 1) return candidates[state.ties[0].position].index;

  int64_t* current = state.current_weight.data();
  uint32_t chosen = state.ties[0].position;
  int64_t total = 0;
  for (uint32_t t = 0; t < tied; ++t) {
    const auto [k, weight] = state.ties[t];
    current[k] += weight;
    total += weight;
    if (t == 0 || current[k] > current[chosen]) chosen = k;
  }
  current[chosen] -= total;
  return candidates[chosen].index;
}

template <typename Pickable>
uint32_t LeastConnections::find_least_loaded(Tie* ties, Pickable&& pickable) const {
  const std::vector<WeightedBackend>& candidates = weighted();
  uint32_t tied = 0;
  uint64_t best_active = 0;
  uint64_t best_weight = 0;
  for (uint32_t k = 0; k < candidates.size(); ++k) {
    const WeightedBackend& candidate = candidates[k];
    if (!pickable(candidate)) continue;
    const uint64_t active = candidate.state->active();
    const uint64_t weight = effective_weight(candidate);
    // Less loaded than the best so far: a new tie of one. As loaded: one more in the tie.
    if (tied == 0 || active * best_weight < best_active * weight) {
      tied = 0;
      best_active = active;
      best_weight = weight;
    } else if (best_active * weight < active * best_weight) {
      continue;
    }
    ties[tied++] = {k, static_cast<int64_t>(weight)};
  }
  return tied;
}

uint32_t LeastConnections::pick_from_sample(const PickContext& ctx, health::PanicMode panic,
                                            WorkerState& state) const {
  const uint32_t wanted = std::min(init_.choices, kMaxChoices);
  std::array<uint32_t, kMaxChoices> sample{};
  uint32_t sampled = 0;
  for (uint32_t draw = 0; draw < wanted * kDrawsPerChoice && sampled < wanted; ++draw) {
    const uint32_t candidate = sampler_.draw(state.generator);
    if (candidate == kNoBackend) return kNoBackend;
    if (!can_pick(candidate, ctx, panic)) continue;
    if (std::find(sample.begin(), sample.begin() + sampled, candidate) !=
        sample.begin() + sampled) {
      continue;
    }
    sample[sampled++] = candidate;
  }
  // Too few distinct draws: a small pool, or most of it ineligible. The scan is then cheap or
  // the only way to find the few pickable backends.
  if (sampled < wanted) return pick_from_all(ctx, panic, state);
  uint32_t best = sample[0];
  uint64_t best_active = init_.backends[best].state->active();
  for (uint32_t k = 1; k < sampled; ++k) {
    const uint64_t active = init_.backends[sample[k]].state->active();
    if (less_loaded(sample[k], active, best, best_active)) {
      best = sample[k];
      best_active = active;
    }
  }
  return best;
}

std::unique_ptr<Balancer> make_least_connections(BalancerInit init) {
  return std::make_unique<LeastConnections>(std::move(init));
}

}  // namespace ringlb::balancers
