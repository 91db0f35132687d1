// Weighted random: each pick draws a backend with probability weight / total weight of the
// eligible ones. Stateless between picks apart from a per-worker generator, so it needs no
// coordination at all; also the sampler least_connections' power-of-d-choices draws with.
#pragma once

#include <vector>

#include "balancers/balancer.hpp"

namespace ringlb::balancers {

// SplitMix64 (Steele, Lea, Flood 2014): one add and two multiplies per number, 8 bytes of state.
// For spreading load, not for secrets.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed = 0) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) by multiply-shift (Lemire): no division; bias below 2^-32.
  uint32_t below(uint32_t bound) { return static_cast<uint32_t>(((next() >> 32) * bound) >> 32); }

 private:
  uint64_t state_;
};

// The generator of worker `worker` for a balancer seeded with `seed`: distinct streams.
SplitMix64 worker_generator(uint64_t seed, uint32_t worker);

// Draws backend indices in proportion to their weights, eligible or not (the caller checks), by
// binary search in the running sum of the weights. Immutable after construction.
class WeightedSampler {
 public:
  explicit WeightedSampler(const std::vector<BalancedBackend>& backends);
  // kNoBackend when every weight is 0.
  uint32_t draw(SplitMix64& generator) const;

 private:
  std::vector<uint32_t> running_total_;  // running_total_[k] = weights of weighted_[0..k]
  std::vector<uint32_t> weighted_;       // the backends with weight > 0
  // Whether they all have the same weight w, as most pools do. A draw then needs no search: the
  // search would find below(count × w) / w, which is below(count) exactly.
  bool equal_weights_ = false;
};

class Random final : public Balancer {
 public:
  explicit Random(BalancerInit init);
  std::string describe() const override { return "random (weighted)"; }

 private:
  uint32_t choose(const PickContext& ctx, health::PanicMode panic) const override;
  struct alignas(64) WorkerState {
    SplitMix64 generator;
  };
  const WeightedSampler sampler_;
  mutable std::vector<WorkerState> per_worker_;
};

// Among the backends can-pick accepts, one drawn in proportion to weight-of (the effective
// weight), scanning them all: the exact answer when rejection sampling keeps hitting ineligible
// backends. kNoBackend when none is pickable.
template <typename CanPick, typename WeightOf>
uint32_t draw_by_scan(const std::vector<BalancedBackend>& backends, SplitMix64& generator,
                      CanPick&& can_pick, WeightOf&& weight_of) {
  uint64_t total = 0;
  for (uint32_t i = 0; i < backends.size(); ++i) {
    if (can_pick(i)) total += weight_of(i);
  }
  if (total == 0) return kNoBackend;
  // below() is exact enough for 32-bit totals; larger ones (thousands of heavy backends) take
  // the modulo, whose bias (total / 2^64) is far below anything observable.
  uint64_t point = total <= UINT32_MAX ? generator.below(static_cast<uint32_t>(total))
                                       : generator.next() % total;
  uint32_t last = kNoBackend;
  for (uint32_t i = 0; i < backends.size(); ++i) {
    if (!can_pick(i)) continue;
    last = i;
    const uint64_t weight = weight_of(i);
    if (point < weight) return i;
    point -= weight;
  }
  return last;  // eligibility moved between the two scans
}

std::unique_ptr<Balancer> make_random(BalancerInit init);

}  // namespace ringlb::balancers
