// The few behaviours of the plain configuration model.
#include "config/config.hpp"

namespace ringlb::config {

bool Address::is_loopback() const {
  return host.starts_with("127.") || host == "::1" || host == "localhost";
}

std::string Address::to_string() const {
  std::string port_text = std::to_string(port);
  if (ipv6) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

const PoolConfig* Config::find_pool(const std::string& name) const {
  for (const PoolConfig& pool : pools) {
    if (pool.name == name) return &pool;
  }
  return nullptr;
}

}  // namespace ringlb::config
