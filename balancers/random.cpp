// Weighted random by rejection: draw from all weighted backends, retry when the draw is not
// pickable, and after a few misses draw exactly among the pickable ones. Both paths give each
// pickable backend a share proportional to its weight, so a down backend's share spreads evenly.
#include "balancers/random.hpp"

#include <algorithm>

namespace ringlb::balancers {
namespace {

// Misses before the exact scan: with half the weight ineligible, 8 misses happen 1 pick in 256.
constexpr int kDrawAttempts = 8;

}  // namespace

SplitMix64 worker_generator(uint64_t seed, uint32_t worker) {
  SplitMix64 mixer(seed ^ (uint64_t{worker} << 32 | worker));
  return SplitMix64(mixer.next());
}

WeightedSampler::WeightedSampler(const std::vector<BalancedBackend>& backends) {
  uint32_t total = 0;
  for (uint32_t i = 0; i < backends.size(); ++i) {
    if (backends[i].weight == 0) continue;
    total += backends[i].weight;
    running_total_.push_back(total);
    weighted_.push_back(i);
  }
  equal_weights_ = std::all_of(weighted_.begin(), weighted_.end(), [&](uint32_t i) {
    return backends[i].weight == backends[weighted_.front()].weight;
  });
}

uint32_t WeightedSampler::draw(SplitMix64& generator) const {
  if (weighted_.empty()) return kNoBackend;
  if (equal_weights_) return weighted_[generator.below(static_cast<uint32_t>(weighted_.size()))];
  const uint32_t point = generator.below(running_total_.back());
  // upper_bound without a branch per step: a mispredicted step costs more than the comparison.
  const uint32_t* base = running_total_.data();
  for (size_t count = running_total_.size(); count > 1;) {
    const size_t half = count / 2;
    base = base[half] <= point ? base + half : base;
    count -= half;
  }
  const size_t above = static_cast<size_t>(base - running_total_.data()) + (*base <= point);
  return weighted_[above];
}

Random::Random(BalancerInit init) : Balancer(std::move(init)), sampler_(init_.backends) {
  for (uint32_t worker = 0; worker < init_.workers; ++worker) {
    per_worker_.push_back({worker_generator(init_.random_seed, worker)});
  }
}

uint32_t Random::choose(const PickContext& ctx, health::PanicMode panic) const {
  SplitMix64& generator = per_worker_[ctx.worker].generator;
  for (int attempt = 0; attempt < kDrawAttempts; ++attempt) {
    const uint32_t candidate = sampler_.draw(generator);
    if (candidate == kNoBackend) return kNoBackend;
    if (!can_pick(candidate, ctx, panic)) continue;
    // Slow start: keep the draw with probability permille / 1000, so the share follows the
    // effective weight. A backend at full weight costs no extra draw.
    const uint32_t permille = init_.backends[candidate].state->weight_permille();
    if (permille >= health::kFullWeightPermille || generator.below(1000) < permille) {
      return candidate;
    }
  }
  return draw_by_scan(
      init_.backends, generator, [&](uint32_t i) { return can_pick(i, ctx, panic); },
      [&](uint32_t i) { return effective_weight(i); });
}

std::unique_ptr<Balancer> make_random(BalancerInit init) {
  return std::make_unique<Random>(std::move(init));
}

}  // namespace ringlb::balancers
