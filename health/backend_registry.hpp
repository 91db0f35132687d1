// Owns every BackendState, keyed by pool name and address, so a reload that keeps a backend keeps
// its state (health, drain, counters). Control thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "health/backend_state.hpp"

namespace ringlb::health {

class BackendRegistry {
 public:
  // The state for (pool, address), created on first use.
  std::shared_ptr<BackendState> get_or_create(const std::string& pool, const std::string& address);

  // Forgets states no snapshot holds any more; a backend that comes back later starts afresh.
  void forget_unused();

  size_t size() const { return states_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, std::shared_ptr<BackendState>> states_;
};

}  // namespace ringlb::health
