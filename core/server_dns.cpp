// The control thread's side of DNS discovery (core/discovery/dns_discovery.hpp): the lookups run
// on the control ring, and a pool's changed answer becomes its DNS-sourced backends.
//
// The hand-over is one call, on_dns_answer(pool, backends). Until the membership seam's Server
// wiring (core/discovery/membership.hpp, branch fix/members) is merged, it swaps the pool's DNS
// backends in the running configuration itself (core/discovered_backends.hpp) and rebuilds the
// snapshot as an admin weight change does. After that merge its body is
//     membership_.replace(pool, discovery::BackendSource::kDns, std::move(backends));
// and add_dns_backends(), dns_added_ and core/discovered_backends.* go.
#include <poll.h>

#include <algorithm>

#include "core/base/log.hpp"
#include "core/discovered_backends.hpp"
#include "core/server_internal.hpp"

namespace ringlb {

// DNS lookups that are due or timed out, and the poll that tells when c-ares has a reply.
void Server::run_dns(HealthChecker::Clock::time_point now) {
  dns_.run(now);
  if (dns_poll_armed_) return;
  io_uring_sqe* sqe = control_ring_.sqe();
  io_uring_prep_poll_add(sqe, dns_.fd(), POLLIN);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::kDnsReady, 0, 0}.encode());
  dns_poll_armed_ = true;
}

// A pool's DNS answer changed: its DNS-sourced backends are swapped in the running configuration,
// built again like an admin weight change (same sockets and backend states, no drain of HTTP
// connections), and published. A backend new to the pool starts as `initial_state` says.
void Server::on_dns_answer(const std::string& pool_name,
                           std::vector<config::BackendConfig> backends) {
  config::Config changed = current_->config;
  auto pool = std::find_if(changed.pools.begin(), changed.pools.end(),
                           [&](const config::PoolConfig& p) { return p.name == pool_name; });
  if (pool == changed.pools.end() || !pool->dns) return;
  std::set<std::string> added = replace_dns_backends(*pool, dns_added_[pool_name], backends);
  std::string error;
  auto snapshot = build_snapshot(std::move(changed), worker_count_, generation_ + 1,
                                 {balancers_, backends_, current_.get(), true, tuning_}, error);
  if (!snapshot) {
    LOG_ERROR("dns: pool %s: cannot apply the new backends: %s", pool_name.c_str(), error.c_str());
    return;
  }
  dns_added_[pool_name] = std::move(added);
  install(std::move(snapshot));
  health_.on_reload(*current_);
}

// A reloaded configuration gets the answers of the pools whose [dns] table did not change, so a
// reload never empties a DNS-fed pool until its next lookup.
std::map<std::string, std::set<std::string>> Server::add_dns_backends(
    config::Config& config) const {
  std::map<std::string, std::set<std::string>> added;
  for (config::PoolConfig& pool : config.pools) {
    if (!pool.dns) continue;
    if (const auto* answer = dns_.answer(pool.name, *pool.dns)) {
      added[pool.name] =
          replace_dns_backends(pool, {}, discovery::backend_configs(*answer, *pool.dns));
    }
  }
  return added;
}

std::vector<AdminDnsStatus> Server::dns_status() const {
  std::vector<AdminDnsStatus> out;
  for (const discovery::DnsPoolStatus& pool : dns_.status()) {
    out.push_back({pool.pool, pool.source, pool.lookups, pool.failures, pool.backends, pool.failing,
                   pool.last_success});
  }
  return out;
}

}  // namespace ringlb
