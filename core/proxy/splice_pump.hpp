// Moving bytes from one socket to another by splice(2) through a kernel pipe instead of through a
// provided buffer (docs/perf2-plan.md, 2.3; HAProxy's `option splice-auto`): two splices per
// pipe-full and no byte in user space. One pump serves one direction of an L4 tunnel
// (tcp_splice.cpp) or the rest of an HTTP/1.1 Content-Length body (http_session_splice.cpp);
// the session decides when to start one and what its end means, the pump only moves bytes.
//
// Readiness always comes from a poll on the ring; the splice itself is either IORING_OP_SPLICE
// (Tuning::Splice::kUring, run by the kernel on an io-wq thread) or splice(2) called by the
// worker (kSync). Both sockets are non-blocking (SOCK_NONBLOCK at accept and at connect), so
// neither ever waits. At most kRoundsPerWakeUp pipe-fulls move per call: a fast source and sink
// would otherwise keep the worker on one session.
//
// Bounds: the pipe holds what the sink has not taken; while it is full nothing more is read from
// the source, so a sink that never reads costs one pipe and stops the source (backpressure). A
// `limit` splices exactly that many bytes from the source and never one more: what follows them
// in the socket is the next message, for the session to read. A pipe given back holding bytes
// is closed (pipe_pool.hpp), so a session that ends mid-transfer leaks no byte to the next one.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <limits>

#include "core/io/op_tag.hpp"
#include "core/io/pipe_pool.hpp"
#include "core/proxy/worker_context.hpp"

namespace ringlb {

// What a pump needs from the session that owns it.
class SpliceHost {
 public:
  // Tags `sqe` as the session's operation of `kind` and counts it in flight (Session::submit).
  virtual void submit_splice(io_uring_sqe* sqe, OpKind kind) = 0;
  // Bytes moved (into the pipe or out of it): the connection is not idle.
  virtual void on_splice_moved() = 0;

 protected:
  ~SpliceHost() = default;
};

class SplicePump {
 public:
  // A receive at least this large counts as full (a provided buffer is 16 KiB).
  static constexpr uint32_t kFullReceiveBytes = 16384;
  // Consecutive full receives before an L4 direction asks for a pipe.
  static constexpr uint8_t kFullReceivesToSplice = 2;
  static constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

  // What the session is to do after a call.
  enum class Turn : uint8_t {
    kWaiting,   // a poll or a splice (uring) is in flight; its completion comes back
    kNextTurn,  // the rounds of this wake-up are used up: call pump() again next loop turn
    kDone,      // the source ended (FIN, or `limit` bytes taken) and the pipe drained; no pipe
    kStopped,   // (may_stop) the bursts turned small or no pipe was free: copy again; no pipe
    kFailed,    // a splice or a poll failed: failed_at_source() and error() say which, why
  };
  struct Ends {
    int source_fd;
    int sink_fd;
    OpKind from_source;  // the kind of a poll on, or a splice from, the source
    OpKind to_sink;      // the same for the sink
  };

  // L4: counts full receives; a direction that keeps filling its buffer asks for a pipe.
  void note_receive(int result) {
    if (result < static_cast<int>(kFullReceiveBytes)) {
      full_receives_ = 0;
    } else if (full_receives_ < kFullReceivesToSplice) {
      ++full_receives_;
    }
  }
  bool wants_pipe() const { return full_receives_ >= kFullReceivesToSplice; }

  // Starts moving with `pipe` (taken from the pool by the caller). `limit`: the bytes to take
  // from the source, or kNoLimit (up to its FIN). `may_stop`: the pipe goes back to the pool
  // while the source is quiet, and the pump stops after a small burst (L4); otherwise the pump
  // keeps its pipe until the end, since the session cannot copy the rest itself (a body whose
  // length the parser did not see go by).
  // The worker's tuning says how a splice runs (sync or uring); its pool lends the pipes.
  Turn start(SpliceHost& host, WorkerContext& ctx, PipeLease pipe, Ends ends, uint64_t limit,
             bool may_stop);
  Turn pump();
  // A completion of the pump's own kind, `source` for from_source, with its result.
  Turn on_completion(bool source, int result);
  // The session closed, or gave the body up: what is in flight ends on its own, and its
  // completion changes nothing (on_completion answers kWaiting); no pump() follows.
  void stop();

  bool active() const { return active_; }
  bool source_ended() const { return eof_; }  // the source's FIN came before the limit
  uint64_t left() const { return left_; }     // bytes of the limit not taken from the source yet
  bool failed_at_source() const { return failed_at_source_; }
  int error() const { return error_; }
  uint64_t bytes() const { return bytes_; }  // into the sink, since the pump was made
  // Bytes into the sink since the last call: for counters that are added to once.
  uint64_t take_new_bytes() {
    const uint64_t fresh = bytes_ - counted_;
    counted_ = bytes_;
    return fresh;
  }
  void release_pipe() { pipe_.reset(); }  // at the session's end: a pipe holding bytes closes

 private:
  enum class Step : uint8_t { kMoved, kIdle, kStopped, kFailed };
  Step fill();
  Step drain();
  Step on_filled(int result);
  Step on_drained(int result);
  Step fail(bool at_source, int result);
  // A splice now (sync, true) or submitted (uring: false, the result arrives as a completion).
  bool splice_now(int in, int out, uint32_t length, OpKind kind, int& result);
  void poll(bool source);
  Step wait_for_source();

  SpliceHost* host_ = nullptr;
  WorkerContext* ctx_ = nullptr;
  Ends ends_{-1, -1, OpKind::kIgnore, OpKind::kIgnore};
  PipeLease pipe_;  // held while bytes are in it or moving; empty while an L4 source is quiet
  uint64_t left_ = 0;
  uint64_t bytes_ = 0;
  uint64_t counted_ = 0;
  uint32_t last_fill_ = 0;  // bytes the last splice from the source moved
  int error_ = 0;
  uint8_t full_receives_ = 0;
  bool may_stop_ = true;
  bool active_ = false;
  bool eof_ = false;
  bool failed_at_source_ = false;
  bool filling_ = false;         // a poll on the source, or (uring) a splice from it, is in flight
  bool draining_ = false;        // a poll on the sink, or (uring) a splice into it, is in flight
  bool polling_source_ = false;  // what `filling_` waits for: a poll, not a splice
  bool polling_sink_ = false;    // the same for `draining_`
  bool fill_blocked_ = false;    // the pipe was full: no fill until a drain has made room
};

}  // namespace ringlb
