// Least connections over the shared active counts. Loads are compared as active_a * weight_b <
// active_b * weight_a, so no division and no rounding; the weights are effective weights, so a
// backend in slow start is held to its ramping share of the load. A full pick scans twice, like
// nginx's least_conn: once for the least load, once to share the tie by smooth weighted round
// robin.
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
    per_worker_.push_back({std::vector<int64_t>(init_.backends.size(), 0),
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

uint32_t LeastConnections::choose(const PickContext& ctx) const {
  WorkerState& state = per_worker_[ctx.worker];
  if (init_.choices >= 2) return pick_from_sample(ctx, state);
  return pick_from_all(ctx, state);
}

uint32_t LeastConnections::pick_from_all(const PickContext& ctx, WorkerState& state) const {
  uint32_t best = kNoBackend;
  uint64_t best_active = 0;
  uint32_t tied = 0;
  for (uint32_t i = 0; i < init_.backends.size(); ++i) {
    if (!can_pick(i, ctx)) continue;
    const uint64_t active = init_.backends[i].state->active();
    if (best == kNoBackend || less_loaded(i, active, best, best_active)) {
      best = i;
      best_active = active;
      tied = 1;
    } else if (!less_loaded(best, best_active, i, active)) {
      ++tied;
    }
  }
  if (tied <= 1) return best;

  uint32_t chosen = kNoBackend;
  int64_t total = 0;
  std::vector<int64_t>& current = state.current_weight;
  for (uint32_t i = 0; i < init_.backends.size(); ++i) {
    if (!can_pick(i, ctx)) continue;
    const uint64_t active = init_.backends[i].state->active();
    if (less_loaded(i, active, best, best_active) || less_loaded(best, best_active, i, active)) {
      continue;
    }
    const auto weight = static_cast<int64_t>(effective_weight(i));
    current[i] += weight;
    total += weight;
    if (chosen == kNoBackend || current[i] > current[chosen]) chosen = i;
  }
  if (chosen == kNoBackend) return best;  // the counts moved between the two scans
  current[chosen] -= total;
  return chosen;
}

uint32_t LeastConnections::pick_from_sample(const PickContext& ctx, WorkerState& state) const {
  const uint32_t wanted = std::min(init_.choices, kMaxChoices);
  std::array<uint32_t, kMaxChoices> sample{};
  uint32_t sampled = 0;
  for (uint32_t draw = 0; draw < wanted * kDrawsPerChoice && sampled < wanted; ++draw) {
    const uint32_t candidate = sampler_.draw(state.generator);
    if (candidate == kNoBackend) return kNoBackend;
    if (!can_pick(candidate, ctx)) continue;
    if (std::find(sample.begin(), sample.begin() + sampled, candidate) !=
        sample.begin() + sampled) {
      continue;
    }
    sample[sampled++] = candidate;
  }
  // Too few distinct draws: a small pool, or most of it ineligible. The scan is then cheap or
  // the only way to find the few pickable backends.
  if (sampled < wanted) return pick_from_all(ctx, state);
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
