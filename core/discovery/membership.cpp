// Membership: the union of each pool's sources (membership.hpp).
#include "core/discovery/membership.hpp"

#include <algorithm>
#include <utility>

namespace ringlb::discovery {

std::string_view source_name(BackendSource source) {
  switch (source) {
    case BackendSource::kAdmin:
      return "admin";
    case BackendSource::kInline:
      return "inline";
    case BackendSource::kFile:
      return "backends_file";
    case BackendSource::kDns:
      return "dns";
  }
  return "?";
}

namespace {

// Where the merged list puts each source's backends: the configuration's own first, so a pool
// without other sources keeps its file order (round robin, /status); the admin's precedence is
// applied by skipping, not by order.
constexpr BackendSource kListOrder[] = {BackendSource::kInline, BackendSource::kFile,
                                        BackendSource::kDns, BackendSource::kAdmin};

std::map<std::string, uint32_t> weights_by_address(const std::vector<config::BackendConfig>& list) {
  std::map<std::string, uint32_t> weights;
  for (const config::BackendConfig& backend : list)
    weights[backend.address.to_string()] = backend.weight;
  return weights;
}

bool same_members(const std::vector<config::BackendConfig>& a,
                  const std::vector<config::BackendConfig>& b) {
  return weights_by_address(a) == weights_by_address(b);
}

}  // namespace

void Membership::reset(const config::Config& config) {
  std::map<std::string, PoolSources> next;
  for (const config::PoolConfig& pool : config.pools) {
    PoolSources& sources = next[pool.name];
    auto kept = pools_.find(pool.name);
    if (kept != pools_.end()) {
      sources.lists[static_cast<size_t>(BackendSource::kFile)] =
          std::move(kept->second.lists[static_cast<size_t>(BackendSource::kFile)]);
      sources.lists[static_cast<size_t>(BackendSource::kDns)] =
          std::move(kept->second.lists[static_cast<size_t>(BackendSource::kDns)]);
    }
    sources.lists[static_cast<size_t>(BackendSource::kInline)] = pool.backends;
    changed_.insert(pool.name);
  }
  pools_ = std::move(next);
  std::erase_if(changed_, [this](const std::string& name) { return !pools_.contains(name); });
}

bool Membership::set_list(const std::string& pool, BackendSource source,
                          std::vector<config::BackendConfig> backends) {
  auto it = pools_.find(pool);
  if (it == pools_.end()) return false;
  const std::vector<config::BackendConfig> before = members(pool);
  it->second.lists[static_cast<size_t>(source)] = std::move(backends);
  if (same_members(before, members(pool))) return false;
  changed_.insert(pool);
  return true;
}

bool Membership::replace(const std::string& pool, BackendSource source,
                         std::vector<config::BackendConfig> backends) {
  return set_list(pool, source, std::move(backends));
}

AdminAdd Membership::admin_add(const std::string& pool, const config::BackendConfig& backend) {
  auto it = pools_.find(pool);
  if (it == pools_.end()) return AdminAdd::kNoPool;
  const std::string address = backend.address.to_string();
  for (const config::BackendConfig& member : members(pool)) {
    if (member.address == backend.address) return AdminAdd::kPresent;
  }
  it->second.admin_removed.erase(address);
  auto list = it->second.lists[static_cast<size_t>(BackendSource::kAdmin)];
  std::erase_if(list, [&](const auto& entry) { return entry.address == backend.address; });
  list.push_back(backend);
  set_list(pool, BackendSource::kAdmin, std::move(list));
  changed_.insert(pool);  // also when it only un-hid an address with the same weight
  return AdminAdd::kAdded;
}

AdminRemove Membership::admin_remove(const std::string& pool, const std::string& address) {
  auto it = pools_.find(pool);
  if (it == pools_.end()) return AdminRemove::kNoPool;
  const auto present = members(pool);
  if (std::none_of(present.begin(), present.end(),
                   [&](const auto& member) { return member.address.to_string() == address; })) {
    return AdminRemove::kAbsent;
  }
  auto list = it->second.lists[static_cast<size_t>(BackendSource::kAdmin)];
  std::erase_if(list, [&](const auto& entry) { return entry.address.to_string() == address; });
  it->second.admin_removed.insert(address);
  set_list(pool, BackendSource::kAdmin, std::move(list));
  changed_.insert(pool);
  return AdminRemove::kRemoved;
}

std::vector<config::BackendConfig> Membership::members(const std::string& pool) const {
  auto it = pools_.find(pool);
  if (it == pools_.end()) return {};
  // The weight: from the first source, in order of precedence (the enum's), to name the address.
  std::map<std::string, uint32_t> weight;
  for (const auto& list : it->second.lists) {
    for (const config::BackendConfig& backend : list) {
      weight.try_emplace(backend.address.to_string(), backend.weight);
    }
  }
  // The place: kListOrder. The hash tables sort what they are given, so it moves no key.
  std::set<std::string> seen;
  std::vector<config::BackendConfig> merged;
  for (const BackendSource source : kListOrder) {
    for (const config::BackendConfig& backend : it->second.lists[static_cast<size_t>(source)]) {
      const std::string address = backend.address.to_string();
      if (it->second.admin_removed.contains(address) || !seen.insert(address).second) continue;
      merged.push_back(backend);
      merged.back().weight = weight[address];
    }
  }
  return merged;
}

bool Membership::admin_changed() const {
  return std::any_of(pools_.begin(), pools_.end(), [](const auto& entry) {
    return !entry.second.admin_removed.empty() ||
           !entry.second.lists[static_cast<size_t>(BackendSource::kAdmin)].empty();
  });
}

std::set<std::string> Membership::take_changed() { return std::exchange(changed_, {}); }

void merge_configured_sources(config::Config& config, Membership& membership) {
  membership.reset(config);
  for (config::PoolConfig& pool : config.pools) {
    membership.replace(pool.name, BackendSource::kFile, pool.file_backends);
    pool.backends = membership.members(pool.name);
  }
}

}  // namespace ringlb::discovery
