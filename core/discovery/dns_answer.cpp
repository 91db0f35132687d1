// DNS records into backends (see dns_answer.hpp).
#include "core/discovery/dns_answer.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "config/units.hpp"

namespace ringlb::discovery {
namespace {

constexpr uint32_t kMaxWeight = 1000;

bool is_address(const DnsRecord& record) {
  return record.type == kDnsTypeA || record.type == kDnsTypeAaaa;
}

struct AddressKey {
  std::string host;
  uint16_t port;
  bool ipv6;
  auto operator<=>(const AddressKey&) const = default;
};

// Collects backends by address, summing weights, then sorts and caps them.
class Collector {
 public:
  void add(const DnsRecord& address_record, uint16_t port, uint32_t weight, uint32_t ttl) {
    const AddressKey key{address_record.address, port, address_record.type == kDnsTypeAaaa};
    if (port == 0 || is_wildcard(config::Address{key.host, key.port, key.ipv6})) {
      ++dropped_;
      return;
    }
    uint32_t& sum = weights_[key];
    sum = std::min(kMaxWeight, sum + weight);
    ttl_ = ttl_ ? std::min(*ttl_, ttl) : ttl;
  }
  DnsBackends finish() const {
    DnsBackends out;
    out.dropped = dropped_;
    for (const auto& [key, weight] : weights_) {
      if (out.backends.size() == kMaxDnsBackends) {
        out.dropped += weights_.size() - kMaxDnsBackends;
        break;
      }
      out.backends.push_back({config::Address{key.host, key.port, key.ipv6}, weight});
    }
    if (!out.backends.empty() && ttl_) out.ttl = std::chrono::seconds(*ttl_);
    return out;
  }

 private:
  std::map<AddressKey, uint32_t> weights_;
  std::optional<uint32_t> ttl_;
  size_t dropped_ = 0;
};

}  // namespace

std::vector<DnsRecord> preferred_srv(const std::vector<DnsRecord>& answers) {
  std::optional<uint16_t> best;
  for (const DnsRecord& record : answers) {
    if (record.type != kDnsTypeSrv || record.target.empty()) continue;  // "." = no service
    best = best ? std::min(*best, record.priority) : record.priority;
  }
  std::vector<DnsRecord> kept;
  for (const DnsRecord& record : answers) {
    if (record.type == kDnsTypeSrv && !record.target.empty() && record.priority == best) {
      kept.push_back(record);
    }
  }
  return kept;
}

DnsBackends backends_from_addresses(const std::vector<DnsRecord>& records, uint16_t port) {
  Collector collector;
  std::set<std::string> seen;  // an address twice (through a CNAME chain, say) is one backend
  for (const DnsRecord& record : records) {
    if (is_address(record) && seen.insert(record.address).second) {
      collector.add(record, port, 1, record.ttl);
    }
  }
  return collector.finish();
}

DnsBackends backends_from_srv(const std::vector<DnsRecord>& srv,
                              const std::vector<DnsRecord>& target_addresses) {
  std::multimap<std::string, const DnsRecord*> by_owner;
  for (const DnsRecord& record : target_addresses) {
    if (is_address(record)) by_owner.emplace(record.owner, &record);
  }
  Collector collector;
  for (const DnsRecord& record : srv) {
    const uint32_t weight = std::clamp<uint32_t>(record.weight, 1, kMaxWeight);
    auto [first, last] = by_owner.equal_range(record.target);
    // The same address twice for one target (additional section and a lookup) counts once.
    std::set<std::string> seen;
    for (auto it = first; it != last; ++it) {
      if (!seen.insert(it->second->address).second) continue;
      collector.add(*it->second, record.port, weight, std::min(record.ttl, it->second->ttl));
    }
  }
  return collector.finish();
}

std::vector<std::string> unresolved_targets(const std::vector<DnsRecord>& srv,
                                            const std::vector<DnsRecord>& known) {
  std::set<std::string> have;
  for (const DnsRecord& record : known) {
    if (is_address(record)) have.insert(record.owner);
  }
  std::set<std::string> wanted;
  for (const DnsRecord& record : srv) {
    if (!have.contains(record.target)) wanted.insert(record.target);
  }
  return {wanted.begin(), wanted.end()};
}

std::vector<config::BackendConfig> backend_configs(const std::vector<DnsBackend>& backends,
                                                   const config::DnsDiscoveryConfig& dns) {
  std::vector<config::BackendConfig> out;
  out.reserve(backends.size());
  for (const DnsBackend& backend : backends) {
    config::BackendConfig entry;
    entry.address = backend.address;
    entry.weight = backend.weight;
    entry.position = dns.position;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace ringlb::discovery
