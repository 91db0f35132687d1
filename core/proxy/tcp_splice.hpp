// One direction of an L4 tunnel moving its bytes by splice(2) instead of through a provided
// buffer (docs/perf2-plan.md, 2.3; HAProxy's `option splice-auto`). A direction whose receives
// keep filling their buffer borrows a pipe from the worker's pool once its buffer has gone out,
// then moves source → pipe → sink with two splices per pipe-full and no byte in user space. The
// pipe goes back to the pool whenever it is empty and the source has nothing to give, so a quiet
// connection holds none; the direction returns to copying when the bursts turn small, or when the
// pool has no pipe to lend. A FIN is carried on only once the pipe has drained; a close with bytes
// still in the pipe closes the pipe (pipe_pool.hpp).
//
// Readiness always comes from a poll on the ring; the splice itself is either IORING_OP_SPLICE
// (Tuning::Splice::kUring, run by the kernel on an io-wq thread) or splice(2) called by the
// worker (kSync). Both sockets are non-blocking (SOCK_NONBLOCK at accept and at connect), so
// neither ever waits.
#pragma once

#include <cstdint>

#include "core/io/pipe_pool.hpp"

namespace ringlb {

struct SpliceDirection {
  // A receive at least this large counts as full (a provided buffer is 16 KiB).
  static constexpr uint32_t kFullReceiveBytes = 16384;
  // Consecutive full receives before the direction asks for a pipe.
  static constexpr uint8_t kFullReceivesToSplice = 2;

  void note_receive(int result) {
    if (result < static_cast<int>(kFullReceiveBytes)) {
      full_receives = 0;
    } else if (full_receives < kFullReceivesToSplice) {
      ++full_receives;
    }
  }
  bool wants_pipe() const { return full_receives >= kFullReceivesToSplice; }

  PipeLease pipe;          // held while bytes are in it or moving; empty while polling the source
  uint64_t bytes = 0;      // spliced into the sink: ringlb_spliced_bytes_total
  uint32_t last_fill = 0;  // bytes the last splice from the source moved
  uint8_t full_receives = 0;
  bool active = false;          // the direction moves by splice
  bool filling = false;         // a poll on the source, or (uring) a splice from it, is in flight
  bool draining = false;        // a poll on the sink, or (uring) a splice into it, is in flight
  bool polling_source = false;  // what `filling` waits for: a poll, not a splice
  bool polling_sink = false;    // the same for `draining`
  bool fill_blocked = false;    // the pipe was full: no fill until a drain has made room
};

}  // namespace ringlb
