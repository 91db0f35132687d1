// One event-loop thread: its own ring, buffer ring, timer wheel and SO_REUSEPORT accept
// sockets, and the sessions it accepted. Shares nothing per request with other workers
// (docs/architecture.md, "Threads"): it only reads the published snapshot and a few atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/io/ring.hpp"
#include "core/io/slot_table.hpp"
#include "core/io/timer_wheel.hpp"
#include "core/proxy/access_log.hpp"
#include "core/proxy/http_exchange.hpp"
#include "core/proxy/http_session.hpp"
#include "core/proxy/idle_upstreams.hpp"
#include "core/proxy/proxy_header_session.hpp"
#include "core/proxy/tcp_session.hpp"
#include "core/proxy/worker_context.hpp"
#include "core/runtime/snapshot.hpp"

namespace ringlb {

// What workers and the control thread share.
struct WorkerShared {
  SnapshotSlot* snapshots = nullptr;
  std::atomic<uint64_t>* connections = nullptr;  // open client connections over all workers
  // Bumped by the control thread on SIGUSR1: each worker reopens its access log file when it
  // sees a new value (logrotate has moved the old file away). Null = never reopen.
  std::atomic<uint64_t>* access_log_reopens = nullptr;
  Tuning tuning{};  // how the data path is tuned: production's defaults unless a bench says
};

class Worker final : private SessionSlots {
 public:
  using Clock = TimerWheel::Clock;

  Worker(uint32_t id, WorkerShared shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // On the worker's own thread, before run(): creates the ring (it must be created by the
  // thread that uses it). Returns an empty string or the reason it failed.
  std::string init(const config::LogConfig& log);
  // The thread body. Returns once stopped and every session has ended.
  void run();

  // Any thread. A new snapshot was published: pick it up now rather than at the next tick.
  void wake();
  // Any thread. Stop accepting; close what is still open at `deadline`.
  void request_stop(Clock::time_point deadline);
  // Any thread. Close everything now.
  void request_abort();

  uint32_t id() const { return id_; }

 private:
  // A listening socket this worker accepts on. Freed once retired and its accept has ended.
  struct AcceptSlot {
    std::shared_ptr<ListenSocket> socket;
    const Listener* listener = nullptr;  // in current_; null once retired
    bool armed = false;
  };
  // A slot holds whichever kind of session its listener speaks, or the PROXY protocol header
  // reader that comes before it.
  using SessionStorage = std::variant<TcpSession, HttpSession, ProxyHeaderSession>;

  void adopt_snapshot();
  void arm_accept(uint32_t index);
  void retire_accept(uint32_t index);
  void cancel_accept(uint32_t index);
  void arm_idle_accepts();
  void on_accept(OpTag tag, const io_uring_cqe& cqe);
  void pause_accepting();
  void resume_accepting_if_below_limit();
  void resume_accepting_after_backoff();
  void start_session(int client_fd, const Listener& listener);
  // Starts the listener's own session (L4 or HTTP) on an accepted, counted connection.
  void start_listener_session(int client_fd, std::shared_ptr<const Snapshot> snapshot,
                              const Listener& listener, const CarriedAddresses* carried);
  // A finished PROXY header reader's connection, if it read a whole header.
  std::optional<ProxyHeaderSession::Handoff> take_handoff(uint32_t slot);
  void dispatch(const io_uring_cqe& cqe);
  Session* live_session(OpTag tag);
  void free_session_if_finished(Session& session, uint32_t slot);
  void free_session(Session& session, uint32_t slot);
  // Frees the sessions in ctx_.closed_by_another that have finished.
  void free_closed_by_another();
  HttpSession& emplace_stream(SlotHandle& handle) override;
  HttpSession* find_http(SlotHandle handle) override;
  void handle_commands();
  void abort_all_sessions(const char* cause);
  // Calls drain(stopping) on every session (a stop, or a reload); logs how many closed at once
  // and how many finish their request first.
  void drain_sessions(const char* why, bool stopping);
  void retry_starved_receives();
  void on_timer(TimerNode& node);
  // Calls the session's retry_receive; false when the session is gone.
  bool retry_receive(OpTag tag);
  void arm_wake();
  void reopen_access_log_if_asked();
  void follow_access_log_settings();
  bool finished() const;

  const uint32_t id_;
  WorkerShared shared_;
  Ring ring_;
  BufferRing buffers_;
  BufferRing large_buffers_;  // RINGLB_LEVER_BIG_RECV only
  TimerWheel timers_;
  AccessLog access_log_;
  IdleUpstreams upstreams_;
  HttpExchangeFreeList exchanges_;
  WorkerContext ctx_;
  // The spares ctx_.handovers and ctx_.starved are swapped with each turn (retry_starved_receives).
  std::vector<OpTag> handing_over_;
  std::vector<OpTag> resuming_;
  Clock::time_point next_upstream_sweep_{};

  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;  // the eventfd read lands here; owned by the read in flight
  std::atomic<int> command_{0};
  std::atomic<Clock::rep> stop_deadline_{0};

  std::shared_ptr<const Snapshot> current_;
  uint64_t generation_seen_ = 0;
  uint64_t access_log_reopens_seen_ = 0;
  SlotTable<AcceptSlot, 16> accepts_;
  bool accepting_paused_ = false;
  // Out of descriptors or memory: accepting again at once would fail again at once, a busy loop
  // and a log flood. Slots that stopped wait for this time instead.
  Clock::time_point accept_backoff_until_{};
  bool stopping_ = false;
  bool aborted_ = false;
  Clock::time_point stop_deadline_time_{};
  uint64_t max_connections_ = 0;

  // Sessions never move (the kernel holds pointers into them); a completion or timer finds
  // its session only while the slot's generation is the one it was tagged with.
  SlotTable<SessionStorage> sessions_;
  Session* session_at(uint32_t slot);
  static Session* as_session(SessionStorage* storage);
};

}  // namespace ringlb
