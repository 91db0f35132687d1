// Turns DNS answers into a pool's backends: A/AAAA records at the configured port, or SRV
// records with their ports and weights and their targets' addresses. Pure: the rules in one
// place, unit-tested without a resolver (docs/configuration.md, "[pools.NAME.dns]").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/discovery/dns_message.hpp"

namespace ringlb::discovery {

// The most backends one answer may give a pool; more are dropped (sorted, the first kept).
inline constexpr size_t kMaxDnsBackends = 4096;

struct DnsBackend {
  config::Address address;
  uint32_t weight = 1;
  friend bool operator==(const DnsBackend&, const DnsBackend&) = default;
};

struct DnsBackends {
  std::vector<DnsBackend> backends;  // sorted by address, each address once
  // The smallest TTL of the records used; nullopt when no record was (an empty answer).
  std::optional<std::chrono::seconds> ttl;
  size_t dropped = 0;  // beyond kMaxDnsBackends, or wildcard addresses
};

// SRV records kept: those of the lowest priority value (RFC 2782: the others are fallbacks,
// which ringlb leaves to health checks and panic mode).
std::vector<DnsRecord> preferred_srv(const std::vector<DnsRecord>& answers);

// A/AAAA answers of a `name` lookup: every address at `port`, weight 1.
DnsBackends backends_from_addresses(const std::vector<DnsRecord>& records, uint16_t port);

// SRV records (already preferred_srv) and the A/AAAA records known for their targets (from the
// additional section and from lookups of the targets): one backend per target address at the
// record's port, weighted by the SRV weight clamped to 1..1000 (ringlb's weight range; SRV's 0,
// "rarely", becomes 1). An address two records name gets the sum of their weights.
DnsBackends backends_from_srv(const std::vector<DnsRecord>& srv,
                              const std::vector<DnsRecord>& target_addresses);

// Targets of `srv` that `known` holds no address for: they need their own A/AAAA lookups.
std::vector<std::string> unresolved_targets(const std::vector<DnsRecord>& srv,
                                            const std::vector<DnsRecord>& known);

// The backends as configuration entries (what Membership::replace takes), each positioned at the
// pool's [dns] table so a message about one points there.
std::vector<config::BackendConfig> backend_configs(const std::vector<DnsBackend>& backends,
                                                   const config::DnsDiscoveryConfig& dns);

}  // namespace ringlb::discovery
