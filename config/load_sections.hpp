// The loader's readers, one file per subject of the configuration: listeners (load_listeners),
// pools and their backends (load_pools), active and passive health (load_health). loader.cpp
// reads the top level and the small tables, and calls these.
#pragma once

#include <string>

#include "config/config.hpp"
#include "config/toml_section.hpp"

namespace ringlb::config::detail {

// [listeners.NAME], appended to config.listeners.
void read_listener(Section& section, const std::string& name, Config& config);
// [pools.NAME], appended to config.pools.
void read_pool(Section& section, const std::string& name, Config& config);
// proxy_protocol and proxy_protocol_from of [listeners.NAME] (load_proxy_protocol.cpp).
void read_listener_proxy_protocol(Section& section, ListenerConfig& listener);
// send_proxy_protocol of [pools.NAME] (load_proxy_protocol.cpp).
void read_pool_proxy_protocol(Section& section, PoolConfig& pool);
// [pools.NAME.dns]: backends from DNS (load_dns.cpp).
DnsDiscoveryConfig read_pool_dns(Section& section);
// One `{ address = ..., weight = ... }` of a pool's backends (inline or in its backends_file).
BackendConfig read_backend(Section& section);
// [pools.NAME.health]: the active checks.
HealthConfig read_health(Section& section);
// [pools.NAME.passive]: ejection on the signals of real traffic.
PassiveConfig read_passive(Section& section);
// The pool-wide health settings written in [pools.NAME]: panic mode and slow start.
void read_pool_health(Section& section, PoolConfig& pool);

}  // namespace ringlb::config::detail
