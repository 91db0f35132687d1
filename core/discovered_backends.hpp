// Where DNS answers meet a pool's configured backends, until the membership seam of issue 20
// replaces it: the DNS-sourced backends of a pool are swapped in the running configuration, which
// is then built again like an admin weight change (core/server.cpp, Server::on_dns_answer).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace ringlb {

// Removes from `pool` the backends whose address is in `previous` (the ones DNS added last
// time), then appends `answer`'s backends that the pool does not already list (a backend
// written in the file wins over the same address from DNS). Returns the addresses it appended,
// to pass as `previous` next time.
std::set<std::string> replace_dns_backends(config::PoolConfig& pool,
                                           const std::set<std::string>& previous,
                                           const std::vector<config::BackendConfig>& answer);

}  // namespace ringlb
