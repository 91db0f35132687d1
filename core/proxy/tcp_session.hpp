// A layer-4 session: one client connection tunnelled byte for byte to one backend. Each
// direction holds at most one buffer, and a new receive is armed only once that buffer has been
// fully sent: the slower side sets the pace (backpressure). A plain socket that fills its buffer
// receives into the worker's larger buffers next (tcp_session_gather.cpp); the bench-only
// two-in-flight lever lets a direction hold two. A send the sink cannot take at once
// moves its rest into an owned chunk and gives the provided buffer back, so a slow reader holds
// none of the buffers the worker shares. Receives are single-shot: a multishot receive would
// keep draining the source into shared buffers while the sink is stalled. FINs are carried
// separately in each direction (half-close).
//
// TLS, on either socket: a TLS listener's session first completes the handshake with the client
// and only then connects to a backend; a TLS pool's session does a client handshake once
// connected. Received ciphertext is decrypted in place into the same provided buffer; plaintext
// for a TLS socket is encrypted into its channel and the pipe waits until that ciphertext has
// been sent, so backpressure works as without TLS. A FIN toward a TLS socket is preceded by a
// close_notify.
#pragma once

#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

#include "core/io/op_tag.hpp"
#include "core/io/timer_wheel.hpp"
#include "core/io/tls_stream.hpp"
#include "core/proxy/backend_attempt.hpp"
#include "core/proxy/close_when_flushed.hpp"
#include "core/proxy/half_close.hpp"
#include "core/proxy/session.hpp"
#include "core/proxy/splice_pump.hpp"
#include "core/proxy/worker_context.hpp"
#include "core/runtime/snapshot.hpp"

namespace ringlb {

class TcpSession final : public Session, private SpliceHost {
 public:
  // Takes ownership of `client_fd`; picks a backend and starts connecting. `carried`: the
  // addresses a PROXY protocol header gave (copied), else null.
  void start(WorkerContext& ctx, OpTag tag, int client_fd, std::shared_ptr<const Snapshot> snapshot,
             const Listener& listener, const CarriedAddresses* carried = nullptr);

  void on_completion(OpKind kind, const io_uring_cqe& cqe) override;
  void on_timer() override;  // the idle timeout
  void retry_receive(OpKind kind) override;
  void abort(const char* cause) override { begin_close(cause, false); }
  void release() override;

 private:
  // A buffer received while the one before it is still being sent (two in flight only).
  struct Queued {
    BufferLease buffer;             // the provided buffer it came in...
    std::unique_ptr<char[]> spill;  // ...or the owned chunk it moved to when the sink stalled
    uint32_t length = 0;
  };
  // One direction of the tunnel: bytes received from one socket, sent to the other.
  struct Pipe {
    BufferLease buffer;             // provided buffer held while its bytes are being sent...
    std::unique_ptr<char[]> spill;  // ...or, once a send stalled, the owned chunk they moved to
    uint32_t length = 0;
    uint32_t sent = 0;
    bool receiving = false;
    bool sending = false;
    bool eof = false;         // the source sent FIN
    bool more = false;        // TLS source: plaintext may remain beyond what filled the buffer
    HalfClose fin;            // the FIN carried on to the sink, after a TLS sink's close_notify
    uint64_t flush_mark = 0;  // TLS sink: the pipe's bytes are sent once this much ciphertext is
    uint64_t bytes = 0;
    // Two in flight (Tuning::two_in_flight): the buffer behind this one, and the send in flight,
    // which gathers the rest of this buffer and the queued one.
    Queued queued;
    uint32_t in_send = 0;  // bytes the send in flight carries
    // Big receives (Tuning::big_receive_bytes): the next receive, and the one in flight, use
    // the worker's larger buffers.
    bool large = false;
    bool receiving_large = false;
    std::array<iovec, 2> pieces{};
    msghdr message{};
  };
  // A direction (client→backend, backend→client) indexes pipes_, a socket indexes tls_. Neither
  // converts to the other: a direction reads from its source socket and writes to the other one.
  enum class Direction : uint8_t { kUpstream, kDownstream };
  enum class Socket : uint8_t { kClientSocket, kBackendSocket };
  using enum Direction;
  using enum Socket;
  static constexpr Socket source_of(Direction direction) {
    return direction == kUpstream ? kClientSocket : kBackendSocket;
  }
  // The direction that reads from `socket`, and the one that writes to it.
  static constexpr Direction direction_from(Socket socket) {
    return socket == kClientSocket ? kUpstream : kDownstream;
  }
  static constexpr Direction direction_into(Socket socket) {
    return socket == kClientSocket ? kDownstream : kUpstream;
  }
  // Two of T, indexed by Key only.
  template <typename Key, typename T>
  struct By {
    std::array<T, 2> items{};
    T& operator[](Key key) { return items[static_cast<size_t>(key)]; }
    const T& operator[](Key key) const { return items[static_cast<size_t>(key)]; }
    auto begin() { return items.begin(); }
    auto end() { return items.end(); }
  };

  void connect_next();
  void on_connected(int result);
  void on_receive(Direction direction, const io_uring_cqe& cqe);
  void on_send(Direction direction, int result);
  void on_sent_to(Socket sink, int result);  // a send completion: TLS or plain
  void arm_receive(Direction direction);
  void send_pending(Direction direction);
  void finish_direction_if_drained(Direction direction);
  void on_shutdown(Direction direction, int result);
  void start_pumping();
  void on_pipe_sent(Direction direction);
  // ---- two buffers in flight per direction (tcp_session_gather.cpp) ----
  // Plain sockets both sides and the lever on: receive while sending.
  bool overlaps() const;
  // Keeps a received buffer: as the pipe's buffer, or queued behind the one being sent.
  void keep_received(Pipe& pipe, BufferLease buffer, uint32_t length);
  void on_overlapped_receive(Direction direction);
  void send_gathered(Direction direction);
  void on_gathered_sent(Direction direction, uint32_t result);
  // Moves the queued buffer's bytes into an owned chunk (the sink stalled).
  void spill_queued(Pipe& pipe);
  // ---- big receives (tcp_session_gather.cpp) ----
  void submit_pipe_receive(Direction direction);
  // After a receive of `result`: whether the next one is to use the larger buffers. False when
  // the large group ran dry and the receive is to be re-armed at once in the small one.
  bool adapt_receive_size(Pipe& pipe, int result);
  // The size of a spill chunk: the largest buffer a pipe can hold.
  uint32_t chunk_bytes() const;
  // ---- TLS ----
  void start_tls(Socket socket, SSL_CTX* context);
  void advance_handshake(Socket socket);
  bool handshake_allowed();
  TlsChannel::Status read_plaintext(Direction direction);
  void deliver_plaintext(Direction direction);
  void flush_tls(Socket socket);
  void on_tls_sent(Socket socket, int result);
  void close_after_flush(Socket socket, const char* cause);
  // begin_close()'s first step: queues a TLS client's close_notify; true while it waits to go out.
  bool close_tls_gracefully(const char* cause);
  // Closes the session; `graceful` first lets a TLS client's close_notify go out.
  void begin_close(const char* cause, bool graceful = true);
  // ---- splice (tcp_splice.cpp, splice_pump.hpp) ----
  // Called where the direction would arm a receive with nothing held: true when it now splices.
  bool start_splice(Direction direction);
  // What the pump's turn means for the direction: wait, resume next turn, carry the FIN on, copy
  // again, or close.
  void after_splice_turn(Direction direction, SplicePump::Turn turn);
  void on_splice_completion(OpKind kind, int result);
  void submit_splice(io_uring_sqe* sqe, OpKind kind) override { submit(sqe, kind); }
  void on_splice_moved() override { last_activity_ = ctx_->now; }
  // Bytes a direction carried: copied and spliced.
  uint64_t carried(Direction direction) const {
    return pipes_[direction].bytes + splices_[direction].bytes();
  }
  health::BackendState& backend_state() const { return attempt_.state(); }
  // Gives back the pipe's provided buffer and its spill chunk, whichever it holds.
  void return_buffer(Pipe& pipe);
  // Where the pipe's bytes are: its provided buffer or its spill chunk.
  char* pipe_data(const Pipe& pipe) const;
  // The sink did not take all of the pipe's bytes: moves the rest into an owned chunk.
  void spill_unsent(Pipe& pipe);
  void log_access();
  // At release: the listener's and backend's byte counts, the connection's duration.
  void count_connection();
  health::ListenerWorkerStats& listener_stats() const {
    return listener_->stats->at(ctx_->worker_id);
  }
  int source_fd(Direction direction) const {
    return direction == kUpstream ? client_fd_ : backend_fd_;
  }
  int sink_fd(Direction direction) const {
    return direction == kUpstream ? backend_fd_ : client_fd_;
  }

  int client_fd_ = -1;
  int backend_fd_ = -1;
  By<Socket, TlsStream> tls_;            // null = plain
  CloseWhenFlushed close_when_flushed_;  // a TLS alert goes out, then the session closes
  std::shared_ptr<const Snapshot> snapshot_;
  const Listener* listener_ = nullptr;
  BackendAttempt attempt_;  // the backend connected to, or being tried
  By<Direction, Pipe> pipes_;
  By<Direction, SplicePump> splices_;
  const char* end_cause_ = "";
  TimerWheel::Clock::time_point started_;
  TimerWheel::Clock::time_point last_activity_;
  sockaddr_in6 client_address_{};  // read at start when logged, hashed or sent in a PROXY header
  sockaddr_in6 local_address_{};   // what the client connected to: for a PROXY header sent on
};

}  // namespace ringlb
