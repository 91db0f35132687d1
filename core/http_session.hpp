// A layer-7 session: one client connection carrying HTTP/1.1 requests, answered in order. Each
// request is parsed (never forwarded raw), routed to a pool, sent to a backend over a pooled or
// new connection with a re-serialized head, and its response is parsed and re-framed on the way
// back. Bodies stream with one buffer in flight per direction (backpressure). A websocket
// upgrade turns the session into a byte tunnel after the backend's 101.
#pragma once

#include <linux/time_types.h>
#include <netinet/in.h>

#include <array>
#include <memory>

#include "core/http_exchange.hpp"
#include "core/session.hpp"
#include "core/snapshot.hpp"

namespace ringlb {

class HttpSession final : public Session {
 public:
  void start(WorkerContext& ctx, OpTag tag, int client_fd, std::shared_ptr<const Snapshot> snapshot,
             const Listener& listener);

  void on_completion(OpKind kind, const io_uring_cqe& cqe) override;
  void on_timer() override;
  void retry_receive(OpKind kind) override;
  void abort(const char* cause) override { close_now(cause); }
  void release() override;

 private:
  enum Side { kClient = 0, kBackend = 1 };
  enum class Phase {
    kIdle,             // keep-alive: waiting for the first byte of a request
    kReadingHead,      // header timeout running
    kConnecting,       // head parsed; connecting to a backend
    kForwarding,       // request going to the backend, no response head yet
    kResponding,       // response head received; body on its way
    kTunnel,           // after a 101: bytes both ways
    kClosingAfterSend  // an error response is being sent; then close
  };

  // ---- input and output plumbing (http_session_io.cpp) ----
  std::string_view pending(Side from) const;
  void consume(Side from, size_t bytes);
  void stash_unparsed(Side from);
  void release_consumed_input(Side from);
  void accept_received(Side from, const io_uring_cqe& cqe);
  void arm_receive(Side from);
  void send_output(Side to);
  void on_sent(Side to, int result);
  void add_body(Side to, std::string_view bytes, http::Framing framing);
  int fd_of(Side side) const { return side == kClient ? client_fd_ : backend_fd_; }

  // ---- the request/response flow (http_session.cpp) ----
  void on_receive(Side from, const io_uring_cqe& cqe);
  void on_receive_end(Side from, int result);
  void pump(Side from);
  void pump_request();
  void pump_response();
  void pump_tunnel(Side from);
  bool on_request_head();
  const Pool* route(const http::Head& head) const;
  void connect_backend();
  void connect_to(uint32_t index, bool allow_pooled);
  void on_connected(int result);
  void start_forwarding();
  bool can_resend_after_stale_reuse() const;
  void retry_after_stale_connection();
  void on_response_head();
  void on_response_done();
  void finish_exchange();
  void reset_request_state();
  // Reports how the attempt on the current backend ended (once per attempt).
  void finish_backend_attempt(health::Outcome outcome);
  // Answers `status` if nothing of a response reached the client yet, then closes.
  void fail(unsigned status, const char* reason);
  void close_now(const char* cause);
  void drop_input(Side from);
  void log_access();
  void set_phase(Phase phase);
  TimerWheel::Clock::time_point deadline() const;
  health::BackendState& backend_state() const;
  const config::PoolConfig& pool_config() const { return *pool_->config; }

  int client_fd_ = -1;
  int backend_fd_ = -1;
  std::shared_ptr<const Snapshot> snapshot_;
  const Listener* listener_ = nullptr;
  std::unique_ptr<HttpExchange> exchange_;

  // The current request.
  Phase phase_ = Phase::kIdle;
  const Pool* pool_ = nullptr;
  uint32_t backend_ = balancers::kNoBackend;
  std::array<uint32_t, 2> tried_{};
  uint32_t attempts_ = 0;
  uint32_t stale_retries_ = 0;
  bool backend_started_ = false;  // on_start() called, on_end() not yet
  bool backend_reused_ = false;   // the connection came from the pool
  health::Outcome outcome_ = health::Outcome::kSuccess;
  bool request_done_ = false;
  bool interim_response_ = false;  // a 1xx head was relayed; the final response follows
  bool logged_ = false;
  bool response_started_ = false;  // bytes of the response reached the client
  bool response_done_ = false;
  bool client_keep_alive_ = true;
  bool backend_keep_alive_ = false;
  bool client_eof_ = false;
  std::array<bool, 2> receiving_{};
  http::Framing to_backend_framing_ = http::Framing::kNone;
  http::Framing to_client_framing_ = http::Framing::kNone;
  unsigned status_ = 0;
  const char* end_cause_ = "";
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  char request_id_[33] = {};

  TimerWheel::Clock::time_point phase_since_;
  TimerWheel::Clock::time_point request_started_;
  TimerWheel::Clock::time_point request_done_at_;
  TimerWheel::Clock::time_point connected_at_;
  TimerWheel::Clock::time_point response_head_at_;
  TimerWheel::Clock::time_point last_activity_;
  __kernel_timespec connect_timeout_{};
  sockaddr_in6 client_address_{};
  char client_ip_[46] = {};
};

}  // namespace ringlb
