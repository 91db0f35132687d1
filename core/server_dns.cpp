// The control thread's side of DNS discovery (core/discovery/dns_discovery.hpp): the lookups run
// on the control ring, and a pool's changed answer becomes its DNS source's list in the
// membership (core/discovery/membership.hpp), which the loop applies after the ring's turn.
#include <poll.h>

#include "core/base/log.hpp"
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

// A pool's DNS answer changed: the membership takes it as the pool's DNS source; after this turn
// of the ring, apply_membership() rebuilds the snapshot (server_membership.cpp), draining what
// left.
void Server::on_dns_answer(const std::string& pool, std::vector<config::BackendConfig> backends) {
  membership_.replace(pool, discovery::BackendSource::kDns, std::move(backends));
}

// Membership::reset keeps a pool's DNS list across a reload, for the pools whose lookups go on;
// a pool whose [dns] table the reload removed must lose it with the table.
void Server::forget_dns_of_pools_without_dns(const config::Config& loaded) {
  for (const config::PoolConfig& pool : loaded.pools) {
    if (!pool.dns) membership_.replace(pool.name, discovery::BackendSource::kDns, {});
  }
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
