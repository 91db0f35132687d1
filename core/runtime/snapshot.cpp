// Turning a validated Config into a Snapshot: balancers per pool, backend identity from the
// registry, and listening sockets (reused when the bind address is unchanged).
#include "core/runtime/snapshot.hpp"

#include <unistd.h>

#include <random>

#include "config/diagnostic.hpp"

namespace ringlb {

ListenSocket::~ListenSocket() { close(fd); }

balancers::BalancerInit make_balancer_init(const config::PoolConfig& pool, uint32_t workers,
                                           health::BackendRegistry& backends) {
  balancers::BalancerInit init;
  init.workers = workers;
  // A backend new to this pool starts as its initial_state says, before any table is built.
  const bool checked = pool.health && pool.health->check != config::ProbeKind::kNone;
  const bool up_when_new = !checked || pool.health->initial_state != config::InitialState::kUnknown;
  for (const config::BackendConfig& backend : pool.backends) {
    init.backends.push_back(
        {backends.get_or_create(pool.name, backend.address.to_string(), up_when_new),
         backend.weight});
  }
  init.hash_key = balancers::parse_hash_key(pool.hash_key);
  init.hash_method =
      pool.hash_method == "ring" ? balancers::HashMethod::kRing : balancers::HashMethod::kMaglev;
  init.maglev_table_size = pool.maglev_table_size;
  init.ring_points_per_weight = pool.ring_points_per_weight;
  init.hash_balance_factor = pool.hash_balance_factor;
  init.choices = pool.choices;
  init.pool_health = backends.pool_health(pool.name);
  std::random_device entropy;
  init.random_seed = uint64_t{entropy()} << 32 | entropy();
  return init;
}

namespace {

std::shared_ptr<ListenerSockets> find_sockets(const Snapshot* previous,
                                              const config::ListenerConfig& config) {
  if (previous == nullptr) return nullptr;
  for (const Listener& listener : previous->listeners) {
    if (listener.sockets->bind == config.bind && listener.sockets->v6only == config.v6only) {
      return listener.sockets;
    }
  }
  return nullptr;
}

std::shared_ptr<ListenerSockets> open_sockets(const config::ListenerConfig& config,
                                              uint32_t workers, const Tuning& tuning,
                                              std::string& error) {
  const config::Address& bind = config.bind;
  auto sockets = std::make_shared<ListenerSockets>();
  sockets->bind = bind;
  sockets->v6only = config.v6only;
  for (uint32_t worker = 0; worker < workers; ++worker) {
    std::string why;
    int fd = open_listening_socket(bind, why, config.v6only, tuning);
    if (fd < 0) {
      error = "cannot listen on " + bind.to_string() + ": " + why;
      return nullptr;
    }
    sockets->per_worker.push_back(std::make_shared<ListenSocket>(fd, bind));
  }
  return sockets;
}

std::unique_ptr<Pool> build_pool(const config::PoolConfig& pool_config, uint32_t workers,
                                 SnapshotDeps& deps) {
  auto pool = std::make_unique<Pool>();
  pool->config = &pool_config;
  for (const config::BackendConfig& backend : pool_config.backends) {
    pool->addresses.push_back(to_socket_address(backend.address));
  }
  pool->balancer = deps.balancers.make(pool_config.balance,
                                       make_balancer_init(pool_config, workers, deps.backends));
  return pool;
}

// The previous snapshot's TLS context for the same listener or pool when nothing it was built
// from changed (same paths, same bytes), else a new one, so a reload or a health-driven rebuild
// keeps the contexts, and the session tickets they issued, of unchanged certificates.
template <typename Context, typename Settings, typename Previous>
std::shared_ptr<const Context> tls_context(const Settings& settings, const Previous* previous,
                                           std::string& error) {
  if (previous != nullptr && previous->tls && previous->tls->same_as(settings)) {
    return previous->tls;
  }
  return Context::build(settings, error);
}

const Pool* find_previous_pool(const Snapshot* previous, const std::string& name) {
  if (previous == nullptr) return nullptr;
  for (const auto& pool : previous->pools) {
    if (pool->config->name == name) return pool.get();
  }
  return nullptr;
}

const Listener* find_previous_listener(const Snapshot* previous, const std::string& name) {
  if (previous == nullptr) return nullptr;
  for (const Listener& listener : previous->listeners) {
    if (listener.config->name == name) return &listener;
  }
  return nullptr;
}

const Pool* find_pool(const Snapshot& snapshot, const std::string& name) {
  for (const auto& pool : snapshot.pools) {
    if (pool->config->name == name) return pool.get();
  }
  return nullptr;
}

// "FILE:LINE:COL: message" at the section a refusal is about, as --check prints its errors, so
// what only a start or reload finds (a port another program holds) still points into the file.
std::string located(const config::Config& config, config::SourcePosition at,
                    const std::string& message) {
  return config::Diagnostic{config::Severity::kError, config.path, at.line, at.column, message}
      .to_string();
}

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(config::Config config, uint32_t workers,
                                               uint64_t generation, SnapshotDeps deps,
                                               std::string& error) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->generation = generation;
  snapshot->loaded =
      deps.same_configuration && deps.previous != nullptr ? deps.previous->loaded : generation;
  snapshot->workers = workers;
  snapshot->config = std::move(config);
  for (const config::PoolConfig& pool_config : snapshot->config.pools) {
    snapshot->pools.push_back(build_pool(pool_config, workers, deps));
    if (!snapshot->pools.back()->balancer) {
      error = "pool '" + pool_config.name + "': unknown balance '" + pool_config.balance + "'";
      return nullptr;
    }
    if (pool_config.tls) {
      const Pool* previous = find_previous_pool(deps.previous, pool_config.name);
      snapshot->pools.back()->tls =
          tls_context<TlsClientContext>(*pool_config.tls, previous, error);
      if (!snapshot->pools.back()->tls) {
        error = located(snapshot->config, pool_config.position,
                        "pool '" + pool_config.name + "': TLS: " + error);
        return nullptr;
      }
    }
  }
  for (const config::ListenerConfig& listener_config : snapshot->config.listeners) {
    Listener listener;
    listener.config = &listener_config;
    listener.pool = find_pool(*snapshot, listener_config.pool);
    const Listener* previous = find_previous_listener(deps.previous, listener_config.name);
    listener.stats =
        previous != nullptr ? previous->stats : std::make_shared<health::ListenerStats>(workers);
    for (const config::Route& route : listener_config.routes) {
      listener.routes.push_back({&route, find_pool(*snapshot, route.pool)});
    }
    if (listener_config.tls) {
      listener.tls = tls_context<TlsServerContext>(*listener_config.tls, previous, error);
      if (!listener.tls) {
        error = located(snapshot->config, listener_config.position,
                        "listener '" + listener_config.name + "': TLS: " + error);
        return nullptr;
      }
    }
    listener.sockets = find_sockets(deps.previous, listener_config);
    if (!listener.sockets)
      listener.sockets = open_sockets(listener_config, workers, deps.tuning, error);
    if (!listener.sockets) {
      error = located(snapshot->config, listener_config.position, error);
      return nullptr;
    }
    snapshot->listeners.push_back(std::move(listener));
  }
  return snapshot;
}

std::shared_ptr<const Snapshot> rebuild_snapshot(const Snapshot& current, uint64_t generation,
                                                 SnapshotDeps deps, std::string& error) {
  deps.previous = &current;
  deps.same_configuration = true;
  return build_snapshot(current.config, current.workers, generation, deps, error);
}

void SnapshotSlot::publish(std::shared_ptr<const Snapshot> snapshot) {
  std::lock_guard lock(mutex_);
  const uint64_t generation = snapshot->generation;
  current_ = std::move(snapshot);
  generation_.store(generation, std::memory_order_release);
}

std::shared_ptr<const Snapshot> SnapshotSlot::load() const {
  std::lock_guard lock(mutex_);
  return current_;
}

}  // namespace ringlb
