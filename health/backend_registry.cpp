// BackendRegistry: identity of backends across snapshots (design.md §2).
#include "health/backend_registry.hpp"

namespace ringlb::health {

std::shared_ptr<BackendState> BackendRegistry::get_or_create(const std::string& pool,
                                                             const std::string& address) {
  auto [it, inserted] = states_.try_emplace({pool, address});
  if (inserted) it->second = std::make_shared<BackendState>(pool, address);
  return it->second;
}

void BackendRegistry::forget_unused() {
  std::erase_if(states_, [](const auto& entry) { return entry.second.use_count() == 1; });
}

}  // namespace ringlb::health
