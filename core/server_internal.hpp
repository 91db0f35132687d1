// Server, the control thread's one object: it owns the configuration, the backend registry,
// the workers, the health checks and the admin API. Split over server.cpp (start-up, reload, the
// admin API's changes), server_membership.cpp (backends that come and go) and control_loop.cpp
// (the loop that waits for signals while it runs the health checks and the admin API); only those
// files include this header.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "balancers/registry.hpp"
#include "config/config.hpp"
#include "core/admin/admin_api.hpp"
#include "core/admin/admin_server.hpp"
#include "core/discovery/backends_file_watch.hpp"
#include "core/discovery/dns_discovery.hpp"
#include "core/discovery/membership.hpp"
#include "core/levers.hpp"
#include "core/privileges.hpp"
#include "core/probes/health_checker.hpp"
#include "core/proxy/worker.hpp"
#include "core/runtime/snapshot.hpp"
#include "core/systemd_notify.hpp"
#include "health/backend_registry.hpp"

namespace ringlb {

inline constexpr int kExitConfig = 1;
inline constexpr int kExitStart = 2;

// The random source of DNS refresh jitter: seeded once, control thread only.
inline std::mt19937& jitter_random() {
  static std::mt19937 random{std::random_device{}()};
  return random;
}

// Lives on the control thread's stack for the whole run (run_server) and is used by that thread
// only; the workers reach just snapshots_, the atomic counters and their worker_done_ flags.
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
  MemberChange add_backend(const std::string& pool, const config::Address& address,
                           uint32_t weight) override;
  MemberChange remove_backend(const std::string& pool, const std::string& address) override;

 private:
  using BackendKey = std::pair<std::string, std::string>;  // pool, address

  // Start-up, in order, and the reload and admin changes (server.cpp).
  int publish_first_snapshot(config::Config config);
  int switch_user(const PrivilegePlan& privileges, const config::LogConfig& log);
  int start_workers(const config::LogConfig& log);
  int start_control_ring();
  void log_started() const;
  void reload();
  void reset_admin_changes();
  void join_workers();

  // Membership (server_membership.cpp): every source's list, and the snapshot that follows.
  void adopt_membership(config::Config& config);
  void apply_membership();
  void watch_backends_files();

  // The control loop, from the first READY=1 to the workers' end (control_loop.cpp).
  void run_control_loop();
  bool run_control_ring_until_signal(std::chrono::milliseconds timeout);
  void handle_signal(uint32_t signal);
  void reload_and_notify();
  void on_stop_signal();
  void reopen_access_logs();
  void republish_for_health();
  // DNS discovery (server_dns.cpp): a pool's new answer, and a reload that drops a [dns] table.
  void on_dns_answer(const std::string& pool, std::vector<config::BackendConfig> backends);
  void forget_dns_of_pools_without_dns(const config::Config& loaded);
  void run_dns(HealthChecker::Clock::time_point now);
  std::vector<AdminDnsStatus> dns_status() const;
  void install(std::shared_ptr<const Snapshot> snapshot);
  std::string status_line() const;
  void shut_down();

  const std::string path_;
  const balancers::BalancerRegistry balancers_ = balancers::builtin_balancers();
  // How the data path is tuned: production's defaults unless a bench sets RINGLB_LEVER_*.
  const Tuning tuning_ = tuning_from_levers();
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
  // Each pool's backends from every source; a change is applied after the ring's turn.
  discovery::Membership membership_;
  discovery::BackendsFileWatch backends_files_{control_ring_, membership_};
  // Every pool's DNS lookups, driven from the control ring: a poll on its epoll descriptor.
  discovery::DnsDiscovery dns_{
      [this](const std::string& pool, std::vector<config::BackendConfig> backends) {
        on_dns_answer(pool, std::move(backends));
      },
      [] { return std::uniform_real_distribution<double>(0.0, 1.0)(jitter_random()); }};
  bool dns_poll_armed_ = false;
  bool admin_on_loopback_ = true;
  std::chrono::system_clock::time_point started_at_ = std::chrono::system_clock::now();
  std::chrono::system_clock::time_point loaded_at_ = started_at_;
  uint64_t reloads_ = 0;
  uint64_t reloads_failed_ = 0;
  // What the admin changed since the last reload, which resets it (and says so in its log).
  std::set<BackendKey> admin_drained_;
  std::map<BackendKey, uint32_t> admin_weights_;  // the weight the configuration gave
};

}  // namespace ringlb
