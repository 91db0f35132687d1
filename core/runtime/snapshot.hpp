// An immutable, published view of one configuration (docs/architecture.md): listeners with their
// sockets, pools with their balancers. Workers load it once per loop turn; a session keeps the
// snapshot it began with alive until it ends.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "balancers/balancer.hpp"
#include "balancers/registry.hpp"
#include "config/config.hpp"
#include "core/io/socket_util.hpp"
#include "core/io/tls_context.hpp"
#include "health/backend_registry.hpp"
#include "health/stats.hpp"

namespace ringlb {

// A listening socket. Closed when the last snapshot or worker holding it lets go, so a listener
// kept across a reload never stops accepting.
struct ListenSocket {
  ListenSocket(int fd_in, config::Address bind_in) : fd(fd_in), bind(std::move(bind_in)) {}
  ~ListenSocket();
  ListenSocket(const ListenSocket&) = delete;
  ListenSocket& operator=(const ListenSocket&) = delete;
  const int fd;
  const config::Address bind;
};

// One SO_REUSEPORT socket per worker for one bind address.
struct ListenerSockets {
  config::Address bind;
  bool v6only = false;  // as opened: a change needs new sockets
  std::vector<std::shared_ptr<ListenSocket>> per_worker;
};

struct Pool {
  const config::PoolConfig* config = nullptr;  // points into the owning Snapshot
  std::vector<SocketAddress> addresses;        // index-aligned with balancer->backends()
  std::unique_ptr<balancers::Balancer> balancer;
  std::shared_ptr<const TlsClientContext> tls;  // set when the pool speaks TLS to its backends
};

// A route with its pool resolved, so matching a request costs no lookup by name.
struct RouteTarget {
  const config::Route* config = nullptr;
  const Pool* pool = nullptr;
};

struct Listener {
  const config::ListenerConfig* config = nullptr;
  const Pool* pool = nullptr;       // the default pool
  std::vector<RouteTarget> routes;  // first match wins
  std::shared_ptr<ListenerSockets> sockets;
  std::shared_ptr<const TlsServerContext> tls;  // set when the listener terminates TLS
  // Per-worker counters; kept across reloads for a listener of the same name.
  std::shared_ptr<health::ListenerStats> stats;
};

struct Snapshot {
  uint64_t generation = 0;
  // The generation that loaded this configuration (start-up or a reload). A rebuild after a
  // health change or an admin weight keeps it: workers drain their HTTP connections only when it
  // moves (worker.cpp, adopt_snapshot).
  uint64_t loaded = 0;
  uint32_t workers = 1;
  config::Config config;
  std::vector<std::unique_ptr<Pool>> pools;
  std::vector<Listener> listeners;
};

struct SnapshotDeps {
  const balancers::BalancerRegistry& balancers;
  health::BackendRegistry& backends;
  // Sockets of the running snapshot, reused for binds that did not change.
  const Snapshot* previous = nullptr;
  // The configuration is `previous`'s, rebuilt or with an admin change, not a new load.
  bool same_configuration = false;
  // Options of the listening sockets it opens (accepted sockets inherit TCP_NODELAY).
  Tuning tuning{};
};

// The balancer settings and backends of one pool, each backend with its shared state from
// `backends` (created on first use). Control thread, or a command that never serves.
balancers::BalancerInit make_balancer_init(const config::PoolConfig& pool, uint32_t workers,
                                           health::BackendRegistry& backends);

// Builds a snapshot; opens sockets for new binds and builds TLS contexts from the bytes the loader
// read (those whose files hold the same bytes as in `deps.previous` are kept). On failure returns
// nullptr with `error` set (e.g. "cannot listen on 127.0.0.1:80: bind: Permission denied"). Control
// thread only.
std::shared_ptr<const Snapshot> build_snapshot(config::Config config, uint32_t workers,
                                               uint64_t generation, SnapshotDeps deps,
                                               std::string& error);

// The same configuration built again, with the same sockets and backend states, so that
// balancers whose tables follow eligibility (consistent_hash) are rebuilt after a health change
// without re-reading the file. `deps.previous` is ignored: `current` provides the sockets.
// Control thread only.
std::shared_ptr<const Snapshot> rebuild_snapshot(const Snapshot& current, uint64_t generation,
                                                 SnapshotDeps deps, std::string& error);

// Where the control thread publishes and workers pick up the current snapshot. Workers poll
// generation() each loop turn (one relaxed load) and take the lock only when it moved.
class SnapshotSlot {
 public:
  void publish(std::shared_ptr<const Snapshot> snapshot);
  std::shared_ptr<const Snapshot> load() const;
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace ringlb
