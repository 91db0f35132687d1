// The control loop: the control thread waits for signals on its own ring while it runs the
// health checks and the admin API there, and turns SIGHUP into a reload, SIGTERM/SIGINT into a
// graceful (then immediate) stop and SIGUSR1 into reopened access logs (docs/architecture.md).
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>

#include "core/base/log.hpp"
#include "core/server_internal.hpp"

namespace ringlb {

// Until every worker has stopped: health checks and admin requests between signals, and a
// systemd status line each idle second.
void Server::run_control_loop() {
  for (;;) {
    const bool signalled =
        run_control_ring_until_signal(std::chrono::milliseconds(stop_signals_ > 0 ? 50 : 1000));
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
    handle_signal(info.ssi_signo);
  }
}

void Server::handle_signal(uint32_t signal) {
  switch (signal) {
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

// Runs the control ring (the health checks and the admin API) until signal_fd_ is readable
// (true) or `timeout` passed (false). The one place the control thread sleeps.
bool Server::run_control_ring_until_signal(std::chrono::milliseconds timeout) {
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
    run_dns(now);
    if (now >= deadline) return false;
    backends_files_.run(now);
    Clock::time_point until =
        std::min({deadline, health_.next_wakeup(), backends_files_.next_wakeup()});
    if (auto dns_due = dns_.next_wakeup(now)) until = std::min(until, *dns_due);
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
      } else if (tag.kind == OpKind::kDnsReady) {
        dns_poll_armed_ = false;
        dns_.on_ready();
      } else if (tag.kind == OpKind::kAdminAccept || tag.kind == OpKind::kAdminRecv ||
                 tag.kind == OpKind::kAdminSend) {
        admin_.on_completion(tag, cqe.res);
      } else if (tag.kind == OpKind::kWatchFiles) {
        backends_files_.on_completion(cqe.res);
      }
    });
    backends_files_.run(Clock::now());
    apply_membership();  // what the admin API, the files or DNS changed in this turn
    admin_.sweep(AdminServer::Clock::now());
    if (signalled) {
      health_.run(Clock::now());  // results that arrived with the signal take effect first
      return true;
    }
  }
}

// Makes `snapshot` (built as generation_ + 1) the running one: every worker loads it at its
// next loop turn, and sessions already under way keep the one they began with.
void Server::install(std::shared_ptr<const Snapshot> snapshot) {
  ++generation_;
  current_ = std::move(snapshot);
  snapshots_.publish(current_);
  for (auto& worker : workers_) worker->wake();
}

// Balancers whose tables hold the eligible backends (consistent_hash) get new tables: the same
// configuration, sockets and backend states, built again and published.
void Server::republish_for_health() {
  std::string error;
  auto snapshot = rebuild_snapshot(*current_, generation_ + 1,
                                   {balancers_, backends_, nullptr, false, tuning_}, error);
  if (!snapshot) {
    LOG_ERROR("cannot rebuild the balancer tables after a health change: %s", error.c_str());
    return;
  }
  install(std::move(snapshot));
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

// After the loop: the admin API and the probes end on the control ring, then the workers.
void Server::shut_down() {
  admin_.shutdown(std::chrono::seconds(1), [this](const io_uring_cqe& cqe) {
    const OpTag tag = OpTag::decode(cqe.user_data);
    if (tag.kind == OpKind::kProbe || tag.kind == OpKind::kProbeTimeout) {
      health_.on_completion(tag, cqe.res);
    }
  });
  health_.shutdown(std::chrono::seconds(1));
  join_workers();
}

}  // namespace ringlb
