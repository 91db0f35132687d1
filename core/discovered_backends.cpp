// A pool's DNS-sourced backends swapped in its configuration (see discovered_backends.hpp).
#include "core/discovered_backends.hpp"

#include <algorithm>

namespace ringlb {

std::set<std::string> replace_dns_backends(config::PoolConfig& pool,
                                           const std::set<std::string>& previous,
                                           const std::vector<config::BackendConfig>& answer) {
  std::erase_if(pool.backends, [&](const config::BackendConfig& backend) {
    return previous.contains(backend.address.to_string());
  });
  std::set<std::string> listed;
  for (const config::BackendConfig& backend : pool.backends) {
    listed.insert(backend.address.to_string());
  }
  std::set<std::string> added;
  for (const config::BackendConfig& found : answer) {
    std::string address = found.address.to_string();
    if (listed.contains(address)) continue;
    pool.backends.push_back(found);
    added.insert(std::move(address));
  }
  return added;
}

}  // namespace ringlb
