// What every client session (L4 tunnel, HTTP) offers the worker that owns it. The lifetime rule
// lives here (docs/architecture.md): the worker frees a session only when finished(), i.e. it is
// closing and no operation it submitted is still in flight; closing cancels what is in flight
// first.
#pragma once

#include <liburing.h>
#include <linux/time_types.h>
#include <netinet/in.h>

#include <cstdint>
#include <span>
#include <string>

#include "config/config.hpp"
#include "core/io/multishot_receive.hpp"
#include "core/io/op_tag.hpp"
#include "core/io/socket_util.hpp"
#include "core/io/timer_wheel.hpp"
#include "core/proxy/worker_context.hpp"

namespace ringlb {

class Session {
 public:
  Session() = default;
  virtual ~Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  virtual void on_completion(OpKind kind, const io_uring_cqe& cqe) = 0;
  // The session's timer fired.
  virtual void on_timer() = 0;
  // Re-arms a receive that found no free buffer (kRecvClient or kRecvBackend).
  virtual void retry_receive(OpKind kind) = 0;
  // Closes at once (shutdown deadline passed, or an abort).
  virtual void abort(const char* cause) = 0;
  // A graceful stop, or a reload (the session's snapshot is stale): the connection is to end
  // as soon as nothing is lost by ending it. An HTTP connection with no request under way and
  // no byte of one received closes now (true); one with a request under way answers it with
  // Connection: close, then closes. Tunnels (L4, websocket) are left to end by themselves or
  // at the grace period, as nothing tells when one is idle. `stopping` false (a reload): a
  // connection that has not had its first request yet was just accepted, and its client is
  // likely sending that request now; it is answered, with Connection: close, not closed.
  virtual bool drain(bool /*stopping*/) { return false; }
  // Called once, when finished(): closes sockets, logs, drops references.
  virtual void release() = 0;

  bool finished() const { return closing_ && inflight_ == 0; }
  // A client connection, counted toward runtime.max_connections; an HTTP/2 stream is not.
  bool is_connection() const { return is_connection_; }
  uint32_t slot() const { return tag_.slot; }
  TimerNode& timer() { return timer_; }

 protected:
  void bind(WorkerContext& ctx, OpTag tag) {
    ctx_ = &ctx;
    tag_ = tag;
    timer_.owner = {tag.slot, tag.generation};
  }
  // Tags `sqe` as this session's and counts it in flight until its completion arrives.
  void submit(io_uring_sqe* sqe, OpKind kind) {
    io_uring_sqe_set_data64(sqe, OpTag{kind, tag_.slot, tag_.generation}.encode());
    ++inflight_;
  }
  // Marks the session closing and cancels every operation on `fds` still in flight.
  void cancel_all(std::initializer_list<int> fds) {
    closing_ = true;
    ctx_->timers.cancel(timer_);
    if (inflight_ == 0) return;
    for (int fd : fds) {
      if (fd < 0) continue;
      io_uring_sqe* sqe = ctx_->ring.sqe();
      io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
      submit(sqe, OpKind::kCancel);
    }
  }
  // A completion arrived: one operation fewer in flight, unless more follow from a multishot.
  void completed(const io_uring_cqe& cqe) {
    if ((cqe.flags & IORING_CQE_F_MORE) == 0) --inflight_;
  }

  // Submits a receive on `fd` into a buffer the kernel picks from the worker's buffer ring;
  // `multishot`: one that stays armed (multishot_receive.hpp).
  void submit_receive(int fd, OpKind kind, bool multishot = false);
  // The same from the worker's larger buffers (ctx_->large_buffers, which must be set).
  void submit_large_receive(int fd, OpKind kind);
  // Completes a receive of `kind` as the peer's FIN does (res 0, no buffer), without reading the
  // socket: for a TLS peer whose close_notify ended its data, so the session meets the end
  // where it would meet a FIN and nothing it sends later is read.
  void submit_end_of_input(OpKind kind) {
    io_uring_sqe* sqe = ctx_->ring.sqe();
    io_uring_prep_nop(sqe);
    submit(sqe, kind);
  }
  // The worker calls retry_receive(kind) next loop turn, to hand over a queued multishot
  // completion.
  void hand_over_next_turn(OpKind kind) {
    ctx_->handovers.push_back({kind, tag_.slot, tag_.generation});
  }
  // The receive found the buffer ring empty (-ENOBUFS). It is parked: the worker calls
  // retry_receive(kind) once a buffer has been given back, never merely on the next turn (with
  // the ring empty that would spin).
  void wait_for_buffers(OpKind kind) {
    ctx_->starved.push_back({kind, tag_.slot, tag_.generation});
  }

  // ---- multishot receives (multishot_receive.hpp) ----
  // The session waits for input on `fd`: a completion already queued is handed over next loop
  // turn (the worker calls retry_receive), else the receive is armed unless it is.
  void wait_multishot(MultishotReceive& receive, int fd, OpKind kind);
  // Routes a completion of that receive; true when the session handles `cqe` now, as it would a
  // single-shot receive's. `waiting`: the session waits for input on this socket.
  bool route_multishot(MultishotReceive& receive, const io_uring_cqe& cqe, bool waiting, int fd,
                       OpKind kind);
  // From retry_receive: true, with `next` set, when a queued completion is to be handled now.
  bool resume_multishot(MultishotReceive& receive, bool waiting, int fd, OpKind kind,
                        io_uring_cqe& next);
  // Queues a close on the ring; nothing may be in flight on `fd`.
  void close_fd(int& fd) {
    if (fd < 0) return;
    io_uring_sqe* sqe = ctx_->ring.sqe();
    io_uring_prep_close(sqe, fd);
    io_uring_sqe_set_data64(sqe, OpTag{}.encode());
    fd = -1;
  }

  // Opens a non-blocking socket and submits a connect linked to a timeout (kConnect, then
  // kConnectTimeout). `timeout_storage` must live until both complete. Returns the fd or -errno.
  int start_connect(const SocketAddress& address, config::Duration timeout,
                    __kernel_timespec& timeout_storage);

  WorkerContext* ctx_ = nullptr;
  OpTag tag_;
  uint32_t inflight_ = 0;
  bool closing_ = false;
  bool is_connection_ = true;
  TimerNode timer_;

 private:
  void arm_multishot(MultishotReceive& receive, int fd, OpKind kind) {
    receive.mark_armed();
    submit_receive(fd, kind, true);
  }
};

// What a PROXY protocol header said about a client connection (proxy_header_session.hpp): the
// client's address and the one it connected to, in getpeername's sockaddr_in6-sized form. A
// session started with one uses it wherever it would use the socket's peer.
struct CarriedAddresses {
  sockaddr_in6 client{};
  sockaddr_in6 local{};
};

// The address bytes of a peer read with getpeername into a sockaddr_in6-sized buffer: 16 for
// IPv6, 4 for IPv4. What consistent hashing on client_ip hashes.
std::span<const uint8_t> peer_address_bytes(const sockaddr_in6& peer);

// One warning line for a failed backend connect: "timed out after 3000ms" or the errno text.
void log_connect_failure(const config::PoolConfig& pool, const std::string& backend, int result);

}  // namespace ringlb
