// The control thread's start-up, reloads and the admin API's changes (its loop is in
// control_loop.cpp). Owns the configuration, the backend registry and the workers; everything
// here may block, nothing here runs per request.
#include "core/server.hpp"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <future>
#include <optional>

#include "config/loader.hpp"
#include "core/base/heap.hpp"
#include "core/base/log.hpp"
#include "core/reload_changes.hpp"
#include "core/server_internal.hpp"
#include "core/uring_support.hpp"

namespace ringlb {
namespace {

config::LoadResult load(const std::string& path, const balancers::BalancerRegistry& balancers) {
  return config::load_config_file(path, balancers.load_options());
}

void print_diagnostics(const std::vector<config::Diagnostic>& diagnostics) {
  for (const config::Diagnostic& diagnostic : diagnostics) {
    std::fprintf(stderr, "%s\n", diagnostic.to_string().c_str());
  }
}

void log_running_user(const PrivilegePlan& plan) {
  if (plan.drop) {
    LOG_INFO(
        "running as user %s (uid %u, gid %u): switched from root after binding, keeping "
        "only CAP_NET_BIND_SERVICE",
        plan.user.c_str(), plan.uid, plan.gid);
  } else if (plan.uid == 0) {
    LOG_WARN("running as root, as runtime.user = \"root\" asks");
  } else {
    LOG_INFO("running as user %s (uid %u)", plan.user.c_str(), plan.uid);
  }
}

// The plural "s" for a count in a log line: "1 worker", "2 workers".
const char* plural(size_t count) { return count == 1 ? "" : "s"; }

uint32_t resolve_workers(const config::Config& config) {
  if (config.runtime.workers != 0) return config.runtime.workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

sigset_t control_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) sigaddset(&set, signal);
  return set;
}

// Signals are taken synchronously through a signalfd; they must be blocked in every thread,
// so this runs before any thread starts (main() blocked them already; a signal that came since
// is pending and the signalfd reads it).
int block_signals() {
  block_control_signals();
  ::signal(SIGPIPE, SIG_IGN);
  const sigset_t set = control_signal_set();
  return signalfd(-1, &set, SFD_CLOEXEC);
}

}  // namespace

int Server::run() {
  config::LoadResult loaded = load(path_, balancers_);
  print_diagnostics(loaded.diagnostics);
  if (!loaded.config) return kExitConfig;
  log::set_level(loaded.config->log.level);
  if (std::optional<std::string> problem = check_io_uring_support()) {
    LOG_ERROR("%s", problem->c_str());
    return kExitStart;
  }
  std::string refusal;
  const std::optional<PrivilegePlan> privileges = plan_privileges(*loaded.config, refusal);
  if (!privileges) {
    LOG_ERROR("%s", refusal.c_str());
    return kExitConfig;
  }
  signal_fd_ = block_signals();
  const config::LogConfig log_config = loaded.config->log;
  if (int code = publish_first_snapshot(std::move(*loaded.config)); code != 0) return code;
  if (int code = switch_user(*privileges, log_config); code != 0) return code;
  if (int code = start_workers(log_config); code != 0) return code;
  if (int code = start_control_ring(); code != 0) return code;
  log_started();
  systemd_.ready(status_line());
  run_control_loop();
  shut_down();
  LOG_INFO("ringlb stopped");
  return 0;
}

// The first snapshot, with its listeners and the admin port bound (still as the starting user).
int Server::publish_first_snapshot(config::Config config) {
  worker_count_ = resolve_workers(config);
  backends_.set_workers(worker_count_);
  adopt_membership(config);
  std::string error;
  current_ = build_snapshot(std::move(config), worker_count_, ++generation_,
                            {balancers_, backends_, nullptr, false, tuning_}, error);
  if (!current_) {
    LOG_ERROR("%s", error.c_str());
    return kExitStart;
  }
  snapshots_.publish(current_);
  if (const auto& admin = current_->config.admin.listen) {
    if (std::string failed = admin_.bind(*admin); !failed.empty()) {
      LOG_ERROR("%s", failed.c_str());
      return kExitStart;
    }
    admin_on_loopback_ = admin->is_loopback();
  }
  return 0;
}

// Listeners are bound: switch user before any worker thread (and its ring) exists.
int Server::switch_user(const PrivilegePlan& privileges, const config::LogConfig& log) {
  if (std::string failed = apply_privileges(privileges); !failed.empty()) {
    LOG_ERROR("cannot switch to user %s: %s", privileges.user.c_str(), failed.c_str());
    return kExitStart;
  }
  log_running_user(privileges);
  if (std::string refused = access_log_refusal(path_, log); !refused.empty()) {
    LOG_ERROR("%s", refused.c_str());  // as the user that writes it, before any worker tries
    return kExitStart;
  }
  return 0;
}

// The control thread's ring, then the health checks and the admin API that run on it.
int Server::start_control_ring() {
  if (int result = control_ring_.init(1024, tuning_); result < 0) {
    LOG_ERROR("cannot create the control thread's io_uring: %s", std::strerror(-result));
    for (auto& worker : workers_) worker->request_abort();
    join_workers();
    return kExitStart;
  }
  health_.on_reload(*current_);
  dns_.configure(current_->config);
  watch_backends_files();
  if (admin_.listening()) {
    admin_.start();
    LOG_INFO("admin API on %s%s", current_->config.admin.listen->to_string().c_str(),
             current_->config.admin.token.empty() ? "" : " (bearer token required)");
  }
  return 0;
}

void Server::log_started() const {
  for (const Listener& listener : current_->listeners) {
    LOG_INFO("listening on %s (%s, listener %s, pool %s)",
             listener.config->bind.to_string().c_str(),
             listener.config->protocol == config::Protocol::kTcp ? "tcp" : "http",
             listener.config->name.c_str(), listener.config->pool.c_str());
  }
  LOG_INFO("ringlb started: %u worker%s, %zu listener%s, %zu pool%s, config %s", worker_count_,
           plural(worker_count_), current_->listeners.size(), plural(current_->listeners.size()),
           current_->pools.size(), plural(current_->pools.size()), path_.c_str());
}

int Server::start_workers(const config::LogConfig& log) {
  std::vector<std::future<std::string>> started;
  for (uint32_t id = 0; id < worker_count_; ++id) {
    workers_.push_back(std::make_unique<Worker>(
        id, WorkerShared{&snapshots_, &connections_, &access_log_reopens_, tuning_}));
    worker_done_.push_back(std::make_unique<std::atomic<bool>>(false));
    auto init = std::make_shared<std::promise<std::string>>();
    started.push_back(init->get_future());
    Worker* worker = workers_.back().get();
    std::atomic<bool>* done = worker_done_.back().get();
    threads_.emplace_back([worker, done, init, log] {
      std::string problem = worker->init(log);
      init->set_value(problem);
      if (problem.empty()) worker->run();
      done->store(true, std::memory_order_release);
    });
  }
  std::string problem;
  for (auto& future : started) {
    std::string result = future.get();
    if (problem.empty()) problem = result;
  }
  if (problem.empty()) return 0;
  LOG_ERROR("cannot start workers: %s", problem.c_str());
  for (auto& worker : workers_) worker->request_abort();
  join_workers();
  return kExitStart;
}

void Server::reload() {
  if (stop_signals_ > 0) return;
  LOG_INFO("reloading %s", path_.c_str());
  config::LoadResult loaded = load(path_, balancers_);
  if (!loaded.config) {
    LOG_ERROR("reload failed, keeping the running configuration:");
    for (const auto& diagnostic : loaded.diagnostics)
      LOG_ERROR("%s", diagnostic.to_string().c_str());
    return;
  }
  for (const auto& diagnostic : loaded.diagnostics) LOG_WARN("%s", diagnostic.to_string().c_str());
  warn_restart_only_changes(current_->config, *loaded.config, worker_count_,
                            resolve_workers(*loaded.config));
  const config::LogConfig log_before = current_->config.log;
  const config::LogConfig log_after = loaded.config->log;
  std::string error = check_access_log_change(log_before, log_after, path_);
  if (!error.empty()) {
    LOG_ERROR("reload failed, keeping the running configuration: %s", error.c_str());
    return;
  }
  const bool admin_members = membership_.admin_changed();
  discovery::Membership running = membership_;
  forget_dns_of_pools_without_dns(*loaded.config);
  adopt_membership(*loaded.config);
  auto snapshot = build_snapshot(std::move(*loaded.config), worker_count_, generation_ + 1,
                                 {balancers_, backends_, current_.get(), false, tuning_}, error);
  if (!snapshot) {
    membership_ = std::move(running);
    LOG_ERROR("reload failed, keeping the running configuration: %s", error.c_str());
    return;
  }
  install(std::move(snapshot));
  dns_.configure(current_->config);
  health_.on_reload(*current_);
  watch_backends_files();
  if (admin_members) {
    LOG_INFO(
        "reload reset the backends the admin API added or removed: each pool has its "
        "configured sources' backends again");
  }
  reset_admin_changes();
  backends_.forget_unused();
  log::set_level(log_after.level);
  log_applied_log_changes(log_before, log_after);
  LOG_INFO("configuration reloaded (generation %llu): %zu listener%s, %zu pool%s",
           static_cast<unsigned long long>(generation_), current_->listeners.size(),
           plural(current_->listeners.size()), current_->pools.size(),
           plural(current_->pools.size()));
}

// ---- admin API ----

AdminInfo Server::info() const {
  char resolved[PATH_MAX];
  return {.config_path = realpath(path_.c_str(), resolved) != nullptr ? resolved : path_,
          .started_at = started_at_,
          .loaded_at = loaded_at_,
          .reloads = reloads_,
          .reloads_failed = reloads_failed_,
          .stopping = stop_signals_ > 0,
          .admin_on_loopback = admin_on_loopback_,
          .dns = dns_status()};
}

void Server::set_draining(const Pool& pool, uint32_t backend, bool draining) {
  const health::BackendState& state = *pool.balancer->backends()[backend].state;
  const BackendKey key{pool.config->name, state.address()};
  LOG_INFO("admin: pool %s: backend %s %s", key.first.c_str(), key.second.c_str(),
           draining ? "drained: no new work, open connections finish" : "enabled");
  health_.set_draining(state, draining);
  if (draining) {
    admin_drained_.insert(key);
  } else {
    admin_drained_.erase(key);
  }
}

// A new snapshot from the running configuration with one weight changed: the same sockets and
// backend states, new balancers (so round robin and the hash tables see the weight at once).
std::string Server::set_weight(const Pool& pool, uint32_t backend, uint32_t weight) {
  config::Config changed = current_->config;
  config::PoolConfig* pool_config = nullptr;
  for (config::PoolConfig& candidate : changed.pools) {
    if (candidate.name == pool.config->name) pool_config = &candidate;
  }
  config::BackendConfig& target = pool_config->backends[backend];
  const BackendKey key{pool_config->name, target.address.to_string()};
  const uint32_t before = target.weight;
  if (before == weight) return {};
  target.weight = weight;
  std::string error;
  auto snapshot = build_snapshot(std::move(changed), worker_count_, generation_ + 1,
                                 {balancers_, backends_, current_.get(), true, tuning_}, error);
  if (!snapshot) return "cannot apply the weight: " + error;
  admin_weights_.try_emplace(key, before);  // the first change remembers the configured weight
  install(std::move(snapshot));
  health_.on_reload(*current_);
  LOG_INFO("admin: pool %s: backend %s weight %u -> %u (until the next reload)", key.first.c_str(),
           key.second.c_str(), before, weight);
  return {};
}

// After a reload the file is the truth again: drains undone, weights as configured.
void Server::reset_admin_changes() {
  if (admin_drained_.empty() && admin_weights_.empty()) return;
  std::string undone;
  for (const BackendKey& key : admin_drained_) {
    for (const auto& pool : current_->pools) {
      if (pool->config->name != key.first) continue;
      for (const auto& backend : pool->balancer->backends()) {
        if (backend.state->address() == key.second) health_.set_draining(*backend.state, false);
      }
    }
    undone += " drain of " + key.first + "/" + key.second + ";";
  }
  for (const auto& [key, configured] : admin_weights_) {
    undone += " weight of " + key.first + "/" + key.second + ";";
  }
  undone.pop_back();
  LOG_INFO("reload reset the admin API's changes to the configuration:%s", undone.c_str());
  admin_drained_.clear();
  admin_weights_.clear();
}

void Server::join_workers() {
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

sigset_t block_control_signals() {
  const sigset_t set = control_signal_set();
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &set, &previous);
  return previous;
}

int run_server(const std::string& path) {
  const Tuning& tuning = tuning_from_levers();
  set_heap_thresholds(tuning.heap_trim_bytes, tuning.heap_mmap_bytes);  // before any thread
  Server server(path);
  return server.run();
}

}  // namespace ringlb
