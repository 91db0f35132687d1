// Backends that come and go without a reload (docs/architecture.md, "Membership"): the union of
// each pool's sources (core/discovery/membership.hpp) becomes the `backends` of the running
// configuration, and a new snapshot is built from it on the control thread: new hash tables off
// the data path, the same sockets and backend states. The health checker drains what left, keeps
// its history for the hold, and starts what joined in its initial_state with slow start.
#include "core/base/log.hpp"
#include "core/server_internal.hpp"

namespace ringlb {
namespace {

std::string addresses_not_in(const std::vector<config::BackendConfig>& from,
                             const std::vector<config::BackendConfig>& other) {
  std::string listed;
  for (const config::BackendConfig& backend : from) {
    const bool found = std::any_of(other.begin(), other.end(), [&](const auto& entry) {
      return entry.address == backend.address;
    });
    if (!found) listed += (listed.empty() ? "" : " ") + backend.address.to_string();
  }
  return listed;
}

}  // namespace

void Server::adopt_membership(config::Config& config) {
  discovery::merge_configured_sources(config, membership_);
  membership_.take_changed();  // the snapshot about to be built is made from them
}

void Server::watch_backends_files() {
  if (std::string problem = backends_files_.watch(current_->config); !problem.empty()) {
    LOG_WARN("backends_file: %s; its changes will be read only on a reload", problem.c_str());
  }
}

// After a turn of the control ring: the pools whose set changed get a new snapshot, once for
// however many changes the turn brought.
void Server::apply_membership() {
  const std::set<std::string> changed = membership_.take_changed();
  if (changed.empty() || stop_signals_ > 0) return;
  config::Config next = current_->config;
  for (config::PoolConfig& pool : next.pools) {
    if (!changed.contains(pool.name)) continue;
    std::vector<config::BackendConfig> members = membership_.members(pool.name);
    for (config::BackendConfig& member : members) {  // a weight set through the admin API stays
      if (!admin_weights_.contains({pool.name, member.address.to_string()})) continue;
      for (const config::BackendConfig& running : pool.backends) {
        if (running.address == member.address) member.weight = running.weight;
      }
    }
    const std::string added = addresses_not_in(members, pool.backends);
    const std::string removed = addresses_not_in(pool.backends, members);
    LOG_INFO("pool %s: %zu backend%s now%s%s%s%s", pool.name.c_str(), members.size(),
             members.size() == 1 ? "" : "s", added.empty() ? "" : "; joined: ", added.c_str(),
             removed.empty() ? "" : "; left (draining): ", removed.c_str());
    pool.backends = std::move(members);
  }
  // The same loaded configuration: no connection drains. Each HTTP session adopts the new
  // snapshot at its next request (HttpSession::adopt_current_snapshot), so a keep-alive
  // connection's next request is balanced over the new set, joiners included; a request already
  // under way finishes on the backend it has, and the leaver's drain flag keeps older snapshots'
  // retries off it (health_checker_members.cpp). Draining connections here would close idle
  // keep-alive connections under clients about to send (a failed request each) on every
  // listener.
  std::string error;
  auto snapshot = build_snapshot(
      std::move(next), worker_count_, generation_ + 1,
      {balancers_, backends_, current_.get(), /*same_configuration=*/true, tuning_}, error);
  if (!snapshot) {
    LOG_ERROR("cannot apply the new backends: %s", error.c_str());
    return;
  }
  install(std::move(snapshot));
  health_.on_reload(*current_);
}

AdminControl::MemberChange Server::add_backend(const std::string& pool,
                                               const config::Address& address, uint32_t weight) {
  const std::string text = address.to_string();
  switch (membership_.admin_add(pool, {address, weight, {}})) {
    case discovery::AdminAdd::kNoPool:
      return {404, "no pool named '" + pool + "'"};
    case discovery::AdminAdd::kPresent:
      return {409, "pool '" + pool + "' already has backend " + text};
    case discovery::AdminAdd::kAdded:
      break;
  }
  LOG_INFO("admin: pool %s: backend %s added with weight %u (until the next reload)", pool.c_str(),
           text.c_str(), weight);
  apply_membership();
  return {201, "added"};
}

AdminControl::MemberChange Server::remove_backend(const std::string& pool,
                                                  const std::string& address) {
  switch (membership_.admin_remove(pool, address)) {
    case discovery::AdminRemove::kNoPool:
      return {404, "no pool named '" + pool + "'"};
    case discovery::AdminRemove::kAbsent:
      return {404, "pool '" + pool + "' has no backend " + address};
    case discovery::AdminRemove::kRemoved:
      break;
  }
  LOG_INFO(
      "admin: pool %s: backend %s removed: it drains, then is forgotten (until the next "
      "reload)",
      pool.c_str(), address.c_str());
  apply_membership();
  return {202, "draining, then forgotten"};
}

}  // namespace ringlb
