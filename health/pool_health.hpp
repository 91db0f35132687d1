// Pool-wide health (docs/architecture.md): panic mode, which balancers read on every pick, and the
// slow start ramp. PoolHealth is shared across snapshots like BackendState, keyed by pool name;
// the control thread writes it, workers only read it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "health/backend_health.hpp"

namespace ringlb::health {

// What the pool does now. kNone: pick among the eligible backends as usual.
enum class PanicMode : uint8_t {
  kNone,
  kFail,      // panic = "fail": answer 503 without picking (protects the few survivors)
  kServeAll,  // panic = "serve_all": pick among every backend not drained, healthy or not
};

class PoolHealth {
 public:
  PanicMode panic() const { return panic_.load(std::memory_order_relaxed); }
  void set_panic(PanicMode mode) { panic_.store(mode, std::memory_order_relaxed); }

 private:
  std::atomic<PanicMode> panic_{PanicMode::kNone};
};

// A pool with `eligible` of its `total` backends eligible is in panic when the threshold is on
// (> 0) and eligible < threshold% of total.
bool in_panic(uint32_t eligible, uint32_t total, uint32_t threshold_percent);

inline constexpr uint32_t kFullWeightPermille = 1000;
// Where a slow start begins: 1% of the weight, so the backend gets a first trickle at once.
inline constexpr uint32_t kSlowStartFloorPermille = 10;

// The share of its weight, in per mille, that a backend back in service for `elapsed` gets:
// 1000 × elapsed / slow_start, never below kSlowStartFloorPermille, full once slow_start passed.
uint32_t slow_start_permille(Clock::duration elapsed, std::chrono::milliseconds slow_start);

}  // namespace ringlb::health
