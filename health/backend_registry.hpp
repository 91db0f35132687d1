// Owns every BackendState, keyed by pool name and address, and every PoolHealth, keyed by pool
// name, so a reload that keeps a backend keeps its state (health, drain, counters) and a pool
// keeps its panic state. Control thread only.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "health/backend_state.hpp"
#include "health/pool_health.hpp"

namespace ringlb::health {

// How long the health state of a backend that left its pool (a membership change or a reload) is
// kept, so that one that comes back within it (a DNS answer that flaps, a pod that restarts)
// keeps its health history instead of starting afresh (docs/choices.md). The health checker
// holds it that long (core/probes/health_checker_members.cpp); then the registry forgets it.
inline constexpr std::chrono::seconds kRemovedHold{60};

class BackendRegistry {
 public:
  // How many workers keep counters in each state created from now on (one slot each).
  void set_workers(uint32_t workers) { workers_ = workers; }

  // The state for (pool, address), created on first use; a new one starts up, or not up when
  // `up_when_new` is false (initial_state = "unknown": ineligible until its first check passes).
  std::shared_ptr<BackendState> get_or_create(const std::string& pool, const std::string& address,
                                              bool up_when_new = true);
  // The pool-wide state for `pool`, created on first use.
  std::shared_ptr<PoolHealth> pool_health(const std::string& pool);

  // Forgets states no snapshot holds any more; a backend that comes back later starts afresh.
  void forget_unused();

  size_t size() const { return states_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, std::shared_ptr<BackendState>> states_;
  std::map<std::string, std::shared_ptr<PoolHealth>> pools_;
  uint32_t workers_ = 1;
};

}  // namespace ringlb::health
