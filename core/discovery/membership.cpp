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

bool same_members(const std::vector<config::BackendConfig>& a,
                  const std::vector<config::BackendConfig>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.address == y.address && x.weight == y.weight;
  });
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
  std::map<std::string, config::BackendConfig> by_address;
  for (const auto& list : it->second.lists) {  // in order of precedence: the first one wins
    for (const config::BackendConfig& backend : list) {
      const std::string address = backend.address.to_string();
      if (it->second.admin_removed.contains(address)) continue;
      by_address.try_emplace(address, backend);
    }
  }
  std::vector<config::BackendConfig> sorted;
  sorted.reserve(by_address.size());
  for (auto& [address, backend] : by_address) sorted.push_back(std::move(backend));
  return sorted;
}

bool Membership::admin_changed() const {
  return std::any_of(pools_.begin(), pools_.end(), [](const auto& entry) {
    return !entry.second.admin_removed.empty() ||
           !entry.second.lists[static_cast<size_t>(BackendSource::kAdmin)].empty();
  });
}

std::set<std::string> Membership::take_changed() { return std::exchange(changed_, {}); }

}  // namespace ringlb::discovery
