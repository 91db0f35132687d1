// The control thread. Owns the configuration, the backend registry and the workers; everything
// here may block, nothing here runs per request.
#include "core/server.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "balancers/registry.hpp"
#include "core/admin/admin_api.hpp"
#include "core/admin/admin_server.hpp"
#include "config/loader.hpp"
#include "core/probes/health_checker.hpp"
#include "core/base/log.hpp"
#include "core/privileges.hpp"
#include "core/reload_changes.hpp"
#include "core/runtime/snapshot.hpp"
#include "core/systemd_notify.hpp"
#include "core/uring_support.hpp"
#include "core/proxy/worker.hpp"
#include "health/backend_registry.hpp"

namespace ringlb {
namespace {

constexpr int kExitConfig = 1;
constexpr int kExitStart = 2;

config::LoadResult load(const std::string& path, const balancers::BalancerRegistry& balancers) {
  return config::load_config_file(path, {.balancers = balancers.names()});
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

class Server final : public AdminControl {
 public:
  explicit Server(std::string path) : path_(std::move(path)) {}
  int run();

  // AdminControl (control thread).
  const Snapshot& snapshot() const override { return *current_; }
  const HealthChecker& health() const override { return health_; }
  AdminInfo info() const override;
  void set_draining(const Pool& pool, uint32_t backend, bool draining) override;
  std::string set_weight(const Pool& pool, uint32_t backend, uint32_t weight) override;

 private:
  using BackendKey = std::pair<std::string, std::string>;  // pool, address
  void reset_admin_changes();
  int start_workers(const config::LogConfig& log);
  void reload();
  void reload_and_notify();
  void reopen_access_logs();
  std::string status_line() const;
  void on_stop_signal();
  void control_loop();
  bool wait_for_signal(std::chrono::milliseconds timeout);
  void republish_for_health();
  void join_workers();

  const std::string path_;
  const balancers::BalancerRegistry balancers_ = balancers::builtin_balancers();
  health::BackendRegistry backends_;
  SnapshotSlot snapshots_;
  std::shared_ptr<const Snapshot> current_;
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> access_log_reopens_{0};
  SystemdNotifier systemd_;
  bool last_reload_failed_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<std::atomic<bool>>> worker_done_;
  uint32_t worker_count_ = 1;
  uint64_t generation_ = 0;
  int signal_fd_ = -1;
  int stop_signals_ = 0;
  // The control thread's own ring: health probes, and a poll on signal_fd_ (docs/architecture.md).
  Ring control_ring_;
  bool signal_poll_armed_ = false;
  HealthChecker health_{control_ring_, backends_, [this] { republish_for_health(); }};
  AdminServer admin_{control_ring_, [this](const AdminRequest& request) {
                       return handle_admin_request(request, *this);
                     }};
  bool admin_on_loopback_ = true;
  std::chrono::system_clock::time_point started_at_ = std::chrono::system_clock::now();
  std::chrono::system_clock::time_point loaded_at_ = started_at_;
  uint64_t reloads_ = 0;
  uint64_t reloads_failed_ = 0;
  // What the admin changed since the last reload, which resets it (and says so in its log).
  std::set<BackendKey> admin_drained_;
  std::map<BackendKey, uint32_t> admin_weights_;  // the weight the configuration gave
};

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
  worker_count_ = resolve_workers(*loaded.config);
  backends_.set_workers(worker_count_);
  const config::LogConfig log_config = loaded.config->log;
  std::string error;
  current_ = build_snapshot(std::move(*loaded.config), worker_count_, ++generation_,
                            {balancers_, backends_, nullptr}, error);
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
  // Listeners are bound: switch user before any worker thread (and its ring) exists.
  if (std::string failed = apply_privileges(*privileges); !failed.empty()) {
    LOG_ERROR("cannot switch to user %s: %s", privileges->user.c_str(), failed.c_str());
    return kExitStart;
  }
  log_running_user(*privileges);
  if (std::string refused = access_log_refusal(path_, log_config); !refused.empty()) {
    LOG_ERROR("%s", refused.c_str());  // as the user that writes it, before any worker tries
    return kExitStart;
  }
  if (int code = start_workers(log_config); code != 0) return code;
  if (int result = control_ring_.init(1024); result < 0) {
    LOG_ERROR("cannot create the control thread's io_uring: %s", std::strerror(-result));
    for (auto& worker : workers_) worker->request_abort();
    join_workers();
    return kExitStart;
  }
  health_.on_reload(*current_);
  if (admin_.listening()) {
    admin_.start();
    LOG_INFO("admin API on %s%s", current_->config.admin.listen->to_string().c_str(),
             current_->config.admin.token.empty() ? "" : " (bearer token required)");
  }
  for (const Listener& listener : current_->listeners) {
    LOG_INFO("listening on %s (%s, listener %s, pool %s)",
             listener.config->bind.to_string().c_str(),
             listener.config->protocol == config::Protocol::kTcp ? "tcp" : "http",
             listener.config->name.c_str(), listener.config->pool.c_str());
  }
  LOG_INFO("ringlb started: %u worker%s, %zu listener%s, %zu pool%s, config %s", worker_count_,
           plural(worker_count_), current_->listeners.size(), plural(current_->listeners.size()),
           current_->pools.size(), plural(current_->pools.size()), path_.c_str());
  systemd_.ready(status_line());
  control_loop();
  admin_.shutdown(std::chrono::seconds(1), [this](const io_uring_cqe& cqe) {
    const OpTag tag = OpTag::decode(cqe.user_data);
    if (tag.kind == OpKind::kProbe || tag.kind == OpKind::kProbeTimeout) {
      health_.on_completion(tag, cqe.res);
    }
  });
  health_.shutdown(std::chrono::seconds(1));
  join_workers();
  LOG_INFO("ringlb stopped");
  return 0;
}

int Server::start_workers(const config::LogConfig& log) {
  std::vector<std::future<std::string>> started;
  for (uint32_t id = 0; id < worker_count_; ++id) {
    workers_.push_back(std::make_unique<Worker>(
        id, WorkerShared{&snapshots_, &connections_, &access_log_reopens_}));
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

void Server::control_loop() {
  for (;;) {
    const bool signalled =
        wait_for_signal(std::chrono::milliseconds(stop_signals_ > 0 ? 50 : 1000));
    if (stop_signals_ > 0) {
      bool all_done = true;
      for (const auto& done : worker_done_) all_done = all_done && done->load();
      if (all_done) return;
    }
    if (!signalled) {
      if (stop_signals_ == 0) systemd_.status(status_line());
      continue;
    }
    signalfd_siginfo info{};
    if (read(signal_fd_, &info, sizeof(info)) != sizeof(info)) continue;
    switch (info.ssi_signo) {
      case SIGHUP:
        reload_and_notify();
        break;
      case SIGTERM:
      case SIGINT:
        on_stop_signal();
        break;
      case SIGUSR1:
        reopen_access_logs();
        break;
      default:
        break;
    }
  }
}

// Runs the health checks on the control ring until signal_fd_ is readable (true) or `timeout`
// passed (false). The one place the control thread sleeps.
bool Server::wait_for_signal(std::chrono::milliseconds timeout) {
  using Clock = HealthChecker::Clock;
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (!signal_poll_armed_) {
      io_uring_sqe* sqe = control_ring_.sqe();
      io_uring_prep_poll_add(sqe, signal_fd_, POLLIN);
      io_uring_sqe_set_data64(sqe, OpTag{OpKind::kSignal, 0, 0}.encode());
      signal_poll_armed_ = true;
    }
    Clock::time_point now = Clock::now();
    health_.run(now);
    if (now >= deadline) return false;
    const Clock::time_point until = std::min(deadline, health_.next_wakeup());
    control_ring_.submit_and_wait(std::max(until - now, Clock::duration::zero()));
    bool signalled = false;
    control_ring_.for_each_completion([&](const io_uring_cqe& cqe) {
      const OpTag tag = OpTag::decode(cqe.user_data);
      if (tag.kind == OpKind::kSignal) {
        signal_poll_armed_ = false;
        // Only a readable mask makes the read below safe: the signalfd blocks.
        signalled = signalled || (cqe.res > 0 && (cqe.res & POLLIN) != 0);
      } else if (tag.kind == OpKind::kProbe || tag.kind == OpKind::kProbeTimeout) {
        health_.on_completion(tag, cqe.res);
      } else if (tag.kind == OpKind::kAdminAccept || tag.kind == OpKind::kAdminRecv ||
                 tag.kind == OpKind::kAdminSend) {
        admin_.on_completion(tag, cqe.res);
      }
    });
    admin_.sweep(AdminServer::Clock::now());
    if (signalled) {
      health_.run(Clock::now());  // results that arrived with the signal take effect first
      return true;
    }
  }
}

// Balancers whose tables hold the eligible backends (consistent_hash) get new tables: the same
// configuration, sockets and backend states, built again and published.
void Server::republish_for_health() {
  std::string error;
  auto snapshot =
      rebuild_snapshot(*current_, generation_ + 1, {balancers_, backends_, nullptr}, error);
  if (!snapshot) {
    LOG_ERROR("cannot rebuild the balancer tables after a health change: %s", error.c_str());
    return;
  }
  ++generation_;
  current_ = std::move(snapshot);
  snapshots_.publish(current_);
  for (auto& worker : workers_) worker->wake();
  LOG_DEBUG("balancer tables rebuilt after a health change (generation %llu)",
            static_cast<unsigned long long>(generation_));
}

void Server::on_stop_signal() {
  ++stop_signals_;
  if (stop_signals_ == 1) {
    const auto grace = current_->config.runtime.grace_period;
    LOG_INFO("stopping: no new connections; open ones have %lldms to finish",
             static_cast<long long>(grace.count()));
    systemd_.stopping("stopping: draining open connections");
    const auto deadline = Worker::Clock::now() + grace;
    for (auto& worker : workers_) worker->request_stop(deadline);
    return;
  }
  LOG_INFO("second stop signal: closing every connection now");
  for (auto& worker : workers_) worker->request_abort();
}

// systemd sees RELOADING=1 then READY=1 whatever the outcome: a refused file leaves the old
// configuration serving, which is a ready service.
void Server::reload_and_notify() {
  if (stop_signals_ > 0) return;
  const uint64_t before = generation_;
  systemd_.reloading();
  reload();
  last_reload_failed_ = generation_ == before;
  if (last_reload_failed_) {
    ++reloads_failed_;
  } else {
    ++reloads_;
    loaded_at_ = std::chrono::system_clock::now();
  }
  systemd_.ready(status_line());
}

std::string Server::status_line() const {
  std::string status = service_status(*current_);
  if (last_reload_failed_) status += "; last reload failed, see the log";
  return status;
}

void Server::reopen_access_logs() {
  LOG_INFO("reopening the access log");
  access_log_reopens_.fetch_add(1, std::memory_order_relaxed);
  for (auto& worker : workers_) worker->wake();
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
  auto snapshot = build_snapshot(std::move(*loaded.config), worker_count_, generation_ + 1,
                                 {balancers_, backends_, current_.get()}, error);
  if (!snapshot) {
    LOG_ERROR("reload failed, keeping the running configuration: %s", error.c_str());
    return;
  }
  ++generation_;
  current_ = std::move(snapshot);
  snapshots_.publish(current_);
  for (auto& worker : workers_) worker->wake();
  health_.on_reload(*current_);
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
          .admin_on_loopback = admin_on_loopback_};
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
                                 {balancers_, backends_, current_.get(), true}, error);
  if (!snapshot) return "cannot apply the weight: " + error;
  admin_weights_.try_emplace(key, before);  // the first change remembers the configured weight
  ++generation_;
  current_ = std::move(snapshot);
  snapshots_.publish(current_);
  for (auto& worker : workers_) worker->wake();
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

}  // namespace

sigset_t block_control_signals() {
  const sigset_t set = control_signal_set();
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &set, &previous);
  return previous;
}

int run_server(const std::string& path) {
  Server server(path);
  return server.run();
}

}  // namespace ringlb
