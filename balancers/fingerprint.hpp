// The table fingerprint of a pool (spec.md, "Discovery"): a hash of its sorted set of addresses and
// weights, so an operator can check in one command that a fleet of instances builds the same
// tables (`ringlb explain`, /status, /metrics). Independent of the order and the source.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace ringlb::balancers {

// 16 lowercase hex digits: FNV-1a 64 over "address weight\n" lines in address order.
std::string table_fingerprint(const std::vector<config::BackendConfig>& backends);

}  // namespace ringlb::balancers
