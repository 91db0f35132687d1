// BackendRegistry: identity of backends and pools across snapshots (docs/architecture.md).
#include "health/backend_registry.hpp"

namespace ringlb::health {

std::shared_ptr<BackendState> BackendRegistry::get_or_create(const std::string& pool,
                                                             const std::string& address,
                                                             bool up_when_new) {
  auto [it, inserted] = states_.try_emplace({pool, address});
  if (inserted) {
    it->second = std::make_shared<BackendState>(pool, address, workers_);
    it->second->set_up(up_when_new);
  }
  return it->second;
}

std::shared_ptr<PoolHealth> BackendRegistry::pool_health(const std::string& pool) {
  auto [it, inserted] = pools_.try_emplace(pool);
  if (inserted) it->second = std::make_shared<PoolHealth>();
  return it->second;
}

void BackendRegistry::forget_unused() {
  std::erase_if(states_, [](const auto& entry) { return entry.second.use_count() == 1; });
  std::erase_if(pools_, [](const auto& entry) { return entry.second.use_count() == 1; });
}

}  // namespace ringlb::health
