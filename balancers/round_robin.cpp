// Smooth weighted round robin (nginx's ngx_http_upstream_get_peer): add each weight to its
// current weight, pick the largest, subtract the total from the winner. Ineligible backends are
// skipped without touching their current weight, so the others keep their shares. Weights are
// effective weights, so a backend in slow start gets its ramping share.
//
// The scan is deterministic, so with the same weights taking part the same current weights give
// the same picks. When `length` = total / gcd(weights) scans bring the current weights back to
// where they started (from all zero they always do), the sequence repeats forever: each worker
// records one such cycle while scanning and then replays it until the epoch moves or a pick needs
// the scan (panic, a retry). Leaving the cycle after k picks, the current weights are exactly the
// scan's: start + k × weight − total × (times picked among those k).
#include "balancers/round_robin.hpp"

#include <algorithm>
#include <numeric>

namespace ringlb::balancers {

RoundRobin::RoundRobin(BalancerInit init) : Balancer(std::move(init)) {
  uint64_t weight_sum = 0;
  for (const WeightedBackend& backend : weighted()) weight_sum += backend.weight;
  const size_t size = weighted().size();
  per_worker_.resize(init_.workers);
  for (WorkerState& worker : per_worker_) {
    worker.current_weight.assign(size, 0);
    worker.cycle.resize(std::min<uint64_t>(weight_sum, kMaxCycle));
    worker.cycle_start.assign(size, 0);
    worker.cycle_weight.assign(size, 0);
    worker.times_picked.assign(size, 0);
  }
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

void RoundRobin::begin_recording(WorkerState& worker) const {
  // Read before the states (acquire), so the cycle is never credited to a newer epoch than the
  // states it was recorded from.
  worker.epoch = health::eligibility_epoch();
  const std::span<const WeightedBackend> candidates = weighted();
  int64_t total = 0;
  uint64_t divisor = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const uint64_t weight = candidates[i].state->eligible() ? effective_weight(candidates[i]) : 0;
    worker.cycle_weight[i] = static_cast<int64_t>(weight);
    total += static_cast<int64_t>(weight);
    divisor = std::gcd(divisor, weight);
  }
  if (total == 0 || static_cast<uint64_t>(total) / divisor > kMaxCycle) {
    worker.mode = Mode::kUncacheable;
    return;
  }
  worker.length = static_cast<uint32_t>(static_cast<uint64_t>(total) / divisor);
  // Allocates only when slow start shares make the cycle longer than the configured weights.
  if (worker.cycle.size() < worker.length) worker.cycle.resize(worker.length);
  worker.replay_order = worker.cycle.data();
  worker.total = total;
  worker.position = 0;
  std::copy(worker.current_weight.begin(), worker.current_weight.end(), worker.cycle_start.begin());
  worker.mode = Mode::kRecording;
}

void RoundRobin::finish_recording(WorkerState& worker) {
  if (worker.current_weight != worker.cycle_start) {
    worker.mode = Mode::kLive;  // not periodic from here yet: record the next stretch
    return;
  }
  worker.mode = Mode::kReplaying;
  worker.position = 0;
}

void RoundRobin::resume_scanning(WorkerState& worker) {
  if (worker.mode == Mode::kReplaying) {
    std::fill(worker.times_picked.begin(), worker.times_picked.end(), 0);
    for (uint32_t k = 0; k < worker.position; ++k) ++worker.times_picked[worker.cycle[k]];
    const auto picks = static_cast<int64_t>(worker.position);
    for (size_t i = 0; i < worker.current_weight.size(); ++i) {
      worker.current_weight[i] = worker.cycle_start[i] + picks * worker.cycle_weight[i] -
                                 worker.total * static_cast<int64_t>(worker.times_picked[i]);
    }
  }
  worker.mode = Mode::kLive;
}

uint32_t RoundRobin::choose(const PickContext& ctx, health::PanicMode panic) const {
  WorkerState& worker = per_worker_[ctx.worker];
  const bool plain = panic == health::PanicMode::kNone && ctx.excluded.empty();
  if (worker.mode != Mode::kLive) {
    if (health::eligibility_epoch() != worker.epoch) {
      resume_scanning(worker);
    } else if (worker.mode == Mode::kReplaying) {
      if (plain) return replay(worker);
      resume_scanning(worker);
    } else if (worker.mode == Mode::kRecording) {
      if (!plain) {
        worker.mode = Mode::kLive;
      } else if (worker.position == worker.length) {
        finish_recording(worker);
        if (worker.mode == Mode::kReplaying) return replay(worker);
      }
    }
  }
  if (plain && worker.mode == Mode::kLive) begin_recording(worker);

  const std::span<const WeightedBackend> candidates = weighted();
  int64_t* current = worker.current_weight.data();
  // The common case (no panic, nothing tried yet) scans with a plain eligibility test.
  const uint32_t best =
      plain ? smooth_pass(candidates, current,
                          [](const WeightedBackend& c) { return c.state->eligible(); })
            : smooth_pass(candidates, current, [&](const WeightedBackend& c) {
                return usable(*c.state, panic) && !excluded(ctx, c.index);
              });
  if (worker.mode == Mode::kRecording) {
    if (best == kNoBackend) {
      worker.mode = Mode::kLive;  // a state changed under the recording; the epoch will say so
    } else {
      worker.cycle[worker.position++] = best;
    }
  }
  return best == kNoBackend ? kNoBackend : candidates[best].index;
}

std::unique_ptr<Balancer> make_round_robin(BalancerInit init) {
  return std::make_unique<RoundRobin>(std::move(init));
}

}  // namespace ringlb::balancers
