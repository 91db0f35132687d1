// A layer-7 session: one client connection carrying HTTP/1.1 requests, answered in order. Each
// request is parsed (never forwarded raw), routed to a pool, sent to a backend over a pooled or
// new connection with a re-serialized head, and its response is parsed and re-framed on the way
// back. Bodies stream with one buffer in flight per direction (backpressure). A websocket
// upgrade turns the session into a byte tunnel after the backend's 101, which carries each
// side's FIN (or a TLS side's close_notify) on separately and closes once both have ended.
//
// HTTP/2 (docs/architecture.md, "Sessions") reuses this class in two more roles: the client
// connection that owns the h2 codec (http_session_h2.cpp), and each of its streams, one request
// in a slot of its own that runs the backend half below unchanged (http_session_stream.cpp).
//
// TLS (a TLS listener, a TLS pool) sits between the ring and the parser: received ciphertext
// goes into the side's channel and the plaintext into that side's input stash; a send plan is
// encrypted whole into the channel and counts as sent once its ciphertext has been sent, so
// every flow below is the same with or without TLS.
#pragma once

#include <linux/time_types.h>
#include <netinet/in.h>

#include <array>
#include <memory>

#include "core/io/tls_stream.hpp"
#include "core/proxy/close_when_flushed.hpp"
#include "core/proxy/h2_state.hpp"
#include "core/proxy/half_close.hpp"
#include "core/proxy/http_exchange.hpp"
#include "core/proxy/linger.hpp"
#include "core/proxy/retry_policy.hpp"
#include "core/proxy/session.hpp"
#include "core/proxy/splice_pump.hpp"
#include "core/runtime/snapshot.hpp"

namespace ringlb {

class HttpSession final : public Session, private SpliceHost {
 public:
  // `carried`: the addresses a PROXY protocol header gave (copied), else null.
  void start(WorkerContext& ctx, OpTag tag, int client_fd, std::shared_ptr<const Snapshot> snapshot,
             const Listener& listener, const CarriedAddresses* carried = nullptr);

  void on_completion(OpKind kind, const io_uring_cqe& cqe) override;
  void on_timer() override;
  void retry_receive(OpKind kind) override;
  void abort(const char* cause) override {
    linger_wanted_ = false;
    close_now(cause, false);
  }
  bool drain(bool stopping) override;
  void release() override;

  // Starts this session as stream `id` of the HTTP/2 connection session `connection`
  // (http_session_stream.cpp): `request` is written as HTTP/1.1 into its input, and it is routed
  // and connected once begin_stream() is called, after the codec has returned.
  void start_stream(WorkerContext& ctx, OpTag tag, HttpSession& connection, http::StreamId id,
                    const http::H2Request& request);

 private:
  friend struct H2ClientConnection;
  // Who the client side is: a socket speaking HTTP/1.x, a socket speaking HTTP/2 (the codec's
  // owner, which sends nothing to backends itself), or one stream of such a connection.
  enum class Role { kHttp1, kH2Connection, kH2Stream };
  enum Side { kClient = 0, kBackend = 1 };
  enum class Phase {
    kIdle,              // keep-alive: waiting for the first byte of a request
    kReadingHead,       // header timeout running
    kConnecting,        // head parsed; connecting to a backend
    kForwarding,        // request going to the backend, no response head yet
    kResponding,        // response head received; body on its way
    kTunnel,            // after a 101: bytes both ways
    kClosingAfterSend,  // an error response is being sent; then close
    kH2                 // the connection role: frames both ways, requests in streams
  };

  // ---- input and output plumbing (http_session_io.cpp) ----
  std::string_view pending(Side from) const;
  void consume(Side from, size_t bytes);
  void stash_unparsed(Side from);
  void release_consumed_input(Side from);
  // Takes a receive's bytes as input: its provided buffer, or bytes that waited in the client's
  // multishot receive (MultishotReceive::kHeldBytes).
  void accept_received(Side from, const io_uring_cqe& cqe);
  // A receive whose bytes nobody will parse: gives its buffer back, if it has one.
  void give_back_received(const io_uring_cqe& cqe);
  void arm_receive(Side from);
  // RINGLB_LEVER_BIG_RECV: picks the next receive's buffer group from `result`; false when a
  // large receive found its group empty and is to be re-armed in the small one.
  bool adapt_receive_size(Side from, int result);
  void send_output(Side to);
  // Submits the plan's pieces from piece_offset on; `flags`: MSG_DONTWAIT for a first attempt.
  void submit_send(Side to, int flags);
  void on_sent(Side to, int result);
  // A send toward a slow peer: copies the unsent rest into scratch and releases the input.
  void spill_unsent(Side to);
  // Gives back the provided buffer of the input a plan toward `to` was built from, once nothing
  // points into it any more (unparsed bytes move to the stash).
  void release_input_behind(Side to);
  void add_body(Side to, std::string_view bytes, http::Framing framing);
  // Handles a send that failed (result < 0) the same way with or without TLS.
  void on_send_failed(Side to, int result);
  // The whole plan toward `to` went out: release what it pointed into and move on.
  void on_output_sent(Side to);

  // ---- TLS (http_session_tls.cpp) ----
  void on_tls_receive(Side from, const io_uring_cqe& cqe);
  // Drives a handshake after bytes came in; true once it is complete.
  bool advance_handshake(Side side);
  void start_backend_tls();
  // A failed or timed-out handshake counts as a failed connect (retried on another backend).
  void on_backend_handshake_failed(const char* why);
  TlsChannel::Status decrypt_into_stash(Side from);
  void send_tls(Side to);
  void flush_tls(Side side);
  void on_tls_sent(Side to, int result);
  // Sends close_notify (or a handshake alert) before the close; false when the close may go on.
  bool close_tls_gracefully(const char* cause);
  // The listener speaks TLS and the client's handshake has not finished.
  bool handshaking() const {
    return listener_->tls && role_ != Role::kH2Stream &&
           !(tls_[kClient] && tls_[kClient]->established());
  }
  void on_handshake_timeout();
  int fd_of(Side side) const { return side == kClient ? client_fd_ : backend_fd_; }

  // ---- the request/response flow (http_session.cpp) ----
  void on_receive(Side from, const io_uring_cqe& cqe);
  void on_send_completion(Side to, int result);  // TLS or plain
  void on_receive_end(Side from, int result);
  void pump(Side from);
  void pump_request();
  void pump_response();
  // ---- the tunnel after a 101 (http_session_tunnel.cpp) ----
  void pump_tunnel(Side from);
  // `from` sent FIN (result 0) or failed (result < 0).
  void on_tunnel_receive_end(Side from, int result);
  // A TLS side's decrypted bytes arrived; `closed`: its close_notify came with them.
  void on_tunnel_tls_receive(Side from, bool closed);
  // Sends `from`'s FIN on to the other side once everything `from` sent has gone there.
  void finish_tunnel_direction(Side from);
  void on_tunnel_shutdown(Side to, int result);
  // A close_notify toward `to` is on its way; the FIN follows once it has gone out.
  bool tunnel_close_notify_pending(Side to) const {
    return phase_ == Phase::kTunnel && tunnel_[to].fin.close_notify_pending();
  }
  void on_tunnel_close_notify_sent(Side to);
  bool on_request_head();
  // A newer snapshot of the same loaded configuration (a rebuild for health, a weight or a
  // membership change) replaces this session's before a request is balanced; a reload's never
  // does: that session drains instead (http_session_drain.cpp).
  void adopt_current_snapshot();
  void on_response_head();
  void on_response_done();
  void finish_exchange();
  void reset_request_state();
  void format_client_ip();

  // ---- attempts on backends and retries (http_session_attempt.cpp) ----
  // Picks a backend not yet tried and connects; with none left, answers `status_if_none`.
  void connect_backend(unsigned status_if_none = 503, const char* reason_if_none = "");
  // Connects the attempt under way: an idle pooled connection to its backend when allowed (and
  // one is there), else a new one.
  void open_connection(bool allow_pooled);
  void on_connected(int result);
  // A connection taken from the pool is peeked at before use: one the backend wrote on or
  // closed while idle is closed and the next one taken (the same backend).
  void check_pooled_connection();
  void on_pooled_checked(int result);
  void start_forwarding();
  // Every failed attempt ends here: the retry policy decides, this carries it out.
  void on_attempt_failed(AttemptFailure failure);
  // Drops everything the failed attempt left (connection, TLS channel, input, output, response
  // parser and what it found), so the next attempt starts as the first one did.
  void reset_attempt();
  // Answers `status` if nothing of a response reached the client yet, then closes.
  void fail(unsigned status, const char* reason);
  // Closes the session; `graceful` lets a TLS client's close_notify go out first.
  void close_now(const char* cause, bool graceful = true);
  void drop_input(Side from);
  // Once per request, however it ended: the counters, then the access log line.
  void log_access();
  void count_request();
  health::ListenerWorkerStats& listener_stats() const {
    return listener_->stats->at(ctx_->worker_id);
  }
  void set_phase(Phase phase);
  TimerWheel::Clock::time_point deadline() const;
  health::BackendState& backend_state() const;
  // The request under way; only while an exchange is lent (phase other than kIdle).
  RequestState& current() { return exchange_->state; }
  const RequestState& current() const { return exchange_->state; }
  const config::PoolConfig& pool_config() const { return *current().pool->config; }
  // What the listener allows in a request: head and body sizes, '_' in field names.
  http::ParserLimits request_limits() const {
    const config::ListenerLimits& limits = listener_->config->limits;
    return {limits.max_header_bytes, limits.max_body_bytes, limits.underscores_in_headers};
  }

  // ---- HTTP/2, the connection role (http_session_h2.cpp) ----
  // A plain listener's first bytes: the h2 preface switches to h2 (true), a part of it waits.
  bool check_h2_preface();
  bool h2_by_alpn() const;
  void switch_to_h2();
  void pump_h2();
  // Sends what the codec has framed, unless a send is under way (on_output_sent comes back).
  void flush_h2();
  void begin_new_streams();
  void on_h2_output_sent();
  void on_h2_timer();
  TimerWheel::Clock::time_point h2_deadline() const;
  bool drain_h2();
  void close_h2_streams(const char* cause);
  // A stream session is gone; `uncredited`: its request body bytes the window still owes.
  void on_stream_released(http::StreamId id, uint64_t uncredited);
  void linger_h2(const char* cause);
  void on_h2_linger_timer();
  // The client's socket ended (result 0: FIN) or failed: the connection and its streams end.
  void on_h2_client_end(int result);

  // ---- HTTP/2, the stream role (http_session_stream.cpp) ----
  HttpSession* stream_connection() const;
  void begin_stream();
  void on_stream_body(std::span<const char> bytes);
  void on_stream_end();
  // The codec closed the stream: `error_code` 0 after a whole response, else a reset.
  void on_stream_closed(uint32_t error_code);
  void on_stream_room();
  // Moves the inbox into the request parser's input (a "receive" of the stream's body).
  void deliver_stream_body();
  // Hands the request body bytes the backend has taken back to the client's window.
  void credit_stream_window();
  void stream_response_head();
  void offer_stream_body();
  void end_stream_response();
  void fail_stream(unsigned status, const char* reason);
  void reset_stream_if_unfinished();
  void release_stream();

  // ---- bodies by splice (http_session_splice.cpp) ----
  // Where the request (response) would arm a client (backend) receive: true when the rest of a
  // plain HTTP/1.1 Content-Length body, large enough, now moves by splice instead.
  bool start_request_splice();
  bool start_response_splice();
  bool splice_allowed() const;
  // What the turn of the pump reading from `from` means: wait, resume next turn, the body's end,
  // or a failure.
  void after_splice_turn(Side from, SplicePump::Turn turn);
  void on_request_splice_failed(bool at_client);
  void on_body_splice_completion(OpKind kind, int result);
  // A handed-over turn (kRecvClient: the request's pump, kRecvBackend: the response's): true
  // when a pump took it.
  bool resume_body_splice(OpKind kind);
  bool backend_bytes_waiting() const;
  void submit_splice(io_uring_sqe* sqe, OpKind kind) override { submit(sqe, kind); }
  // Progress: not idle, and the bytes that reached the client are counted (access log, metrics).
  void on_splice_moved() override;

  // ---- lingering close after a response (http_session_linger.cpp) ----
  // A close asked for now may linger (a response went out; the client has not ended its side).
  bool linger_fits() const;
  // Shuts the write side and lets go of the backend and the exchange; false: close at once.
  bool begin_linger(const char* cause);
  void on_linger_receive(const io_uring_cqe& cqe);
  void on_linger_timer();
  // Gives the exchange back to the worker's pool, with what it holds.
  void return_exchange();

  // ---- draining (http_session_drain.cpp) ----
  // Between requests: hands the exchange back and waits for the next request, or closes when
  // draining.
  void wait_for_next_request();
  // Bytes from the client that no request has taken yet: queued completions, a partial TLS
  // record, or bytes still in the socket.
  bool client_bytes_waiting() const;

  int client_fd_ = -1;
  int backend_fd_ = -1;
  std::array<TlsStream, 2> tls_;         // by Side; null = plain
  CloseWhenFlushed close_when_flushed_;  // closing once the channel's last bytes left
  std::shared_ptr<const Snapshot> snapshot_;
  const Listener* listener_ = nullptr;
  std::unique_ptr<HttpExchange> exchange_;

  Phase phase_ = Phase::kIdle;
  Role role_ = Role::kHttp1;
  bool h2_preface_checked_ = false;         // the first bytes were not the h2 preface
  std::unique_ptr<H2ClientConnection> h2_;  // the connection role
  std::unique_ptr<H2StreamLink> stream_;    // the stream role
  bool client_keep_alive_ = true;
  bool client_eof_ = false;
  char pooled_peek_ = 0;          // where check_pooled_connection()'s peek lands; never read
  bool draining_ = false;         // drain() was called: no request after the one under way
  bool close_when_idle_ = false;  // draining, and idle is the end (drain() says when)
  bool served_ = false;           // a response was completed on this connection
  // close_now() decided to linger once close_notify (if any) has gone out; cleared when that
  // fails or times out, and by abort().
  bool linger_wanted_ = false;
  Linger linger_;  // active: the write side is shut, the client's bytes are read and dropped
  std::array<bool, 2> receiving_{};  // by Side: waiting for the next received bytes
  // By Side: a receive found the buffer ring empty and is parked (wait_for_buffers); the
  // worker's retry arms the next one. Meanwhile arm_receive() does nothing: a second receive
  // armed beside the parked one would leave the retry to arm a third, later, when nothing may be
  // expected any more (a backend receive after the response kept the connection from the idle
  // pool and closed the client's keep-alive connection).
  std::array<bool, 2> awaiting_buffer_{};
  // RINGLB_LEVER_BIG_RECV, by Side: the next receive uses the worker's larger buffers (the last
  // one filled a small buffer), and the one in flight does.
  std::array<bool, 2> large_receive_{};
  std::array<bool, 2> receiving_large_{};
  // One socket of the tunnel: the FIN its peer sent us, and ours toward it.
  struct TunnelEnd {
    bool eof = false;  // the peer sent FIN (or close_notify); no more receives
    HalfClose fin;     // ours, after a close_notify toward a TLS peer
  };
  std::array<TunnelEnd, 2> tunnel_{};  // by Side; only in Phase::kTunnel
  // With RINGLB_LEVER_MULTISHOT_RECV, a plain client socket keeps one multishot receive armed
  // across requests. A backend connection never does: it goes back to the pool idle.
  bool client_multishot_ = false;
  MultishotReceive client_receive_;
  // RINGLB_LEVER_L7_SPLICE: move a request body client → backend, and a response body
  // backend → client, while active.
  SplicePump request_splice_;
  SplicePump response_splice_;
  TimerWheel::Clock::time_point phase_since_;
  TimerWheel::Clock::time_point last_activity_;
  sockaddr_in6 client_address_{};
  // What the client connected to, for a PROXY header sent to a backend: carried in, or read
  // when first needed (proxy_header_send.hpp).
  sockaddr_in6 local_address_{};
  char client_ip_[INET6_ADDRSTRLEN] = {};  // client_address_ as text, for logs and X-Forwarded-For
};

}  // namespace ringlb
