// Smooth weighted round robin, as nginx does it: weights 5:1:1 give a a b a c a a. State is per
// worker, so picks never contend; each worker interleaves its own share. While no backend's
// eligibility or slow start share changes (health::eligibility_epoch()), the sequence repeats, so
// a worker replays the cycle it recorded: a pick then costs one load of the epoch, not a scan.
#pragma once

#include <span>
#include <vector>

#include "balancers/balancer.hpp"

namespace ringlb::balancers {

class RoundRobin final : public Balancer {
 public:
  // The longest cycle (sum of effective weights over their common divisor) a worker records and
  // replays. A pool with a longer cycle is scanned on every pick, as nginx does.
  static constexpr uint32_t kMaxCycle = 4096;

  // Sizes every worker's cycle for the configured weights at full share, so a pick allocates
  // only when slow start shares make a cycle longer than that (once, up to kMaxCycle entries).
  explicit RoundRobin(BalancerInit init);
  std::string describe() const override { return "round_robin (smooth weighted)"; }

 private:
  enum class Mode : uint8_t {
    kLive,         // scanning; the next plain pick starts recording
    kRecording,    // scanning, and writing down each pick of the cycle
    kReplaying,    // the cycle repeats: picks come from it
    kUncacheable,  // the cycle is too long or empty for this epoch: scanning
  };

  // One cache line apart per worker so workers do not false-share.
  struct alignas(64) WorkerState {
    Mode mode = Mode::kLive;
    uint32_t position = 0;  // picks of the cycle recorded so far, or the next one to replay
    uint32_t length = 0;    // picks in the cycle
    uint64_t epoch = 0;     // eligibility_epoch() the cycle (or kUncacheable) holds for
    const uint32_t* replay_order = nullptr;  // cycle.data(), kept on the line a replay reads
    int64_t total = 0;                       // sum of cycle_weight
    // One per weighted() backend, in its order. Live while scanning; stale while replaying.
    std::vector<int64_t> current_weight;
    std::vector<uint32_t> cycle;         // weighted() positions picked, `length` of them
    std::vector<int64_t> cycle_start;    // current_weight when recording began
    std::vector<int64_t> cycle_weight;   // effective weight if taking part, else 0
    std::vector<uint32_t> times_picked;  // scratch for resume_scanning
  };

  uint32_t choose(const PickContext& ctx, health::PanicMode panic) const override;
  // One pass of smooth weighted round robin over `candidates`, whose current weights are
  // `current`: the position of the winner, or kNoBackend. `pickable` says whether a candidate
  // takes part, so the common case compiles to a loop with no test it does not need.
  template <typename Pickable>
  static uint32_t smooth_pass(std::span<const WeightedBackend> candidates, int64_t* current,
                              Pickable&& pickable);

  // The next pick of a repeating cycle.
  uint32_t replay(WorkerState& worker) const {
    if (worker.position == worker.length) worker.position = 0;
    return weighted()[worker.replay_order[worker.position++]].index;
  }
  // Before a plain pick while scanning: notes the weights taking part and where the cycle starts.
  void begin_recording(WorkerState& worker) const;
  // After a whole cycle was recorded: replay it if the current weights came back to the start.
  static void finish_recording(WorkerState& worker);
  // Leaves the cycle: current_weight becomes what the scan would have left after the picks made.
  static void resume_scanning(WorkerState& worker);

  mutable std::vector<WorkerState> per_worker_;
};

std::unique_ptr<Balancer> make_round_robin(BalancerInit init);

}  // namespace ringlb::balancers
