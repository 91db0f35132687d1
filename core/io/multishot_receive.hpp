// One socket's multishot receive (IORING_RECV_MULTISHOT with provided buffers). Armed once, the
// kernel keeps it armed: a keep-alive request then costs no new receive, no failed first attempt
// and no poll arm. It delivers whenever bytes arrive, also while the session is still sending
// the previous buffer; such completions wait here, in order, until the session asks for the next
// one. A waiting completion holds no provided buffer: its bytes are copied into this receive's
// own memory and the buffer goes back to the ring at once, so a client that keeps sending while
// its responses stall (it never reads) cannot pin the buffers every connection shares. The
// first completion that waits makes the session cancel the receive (backpressure), which it
// arms again once it has taken them; what the kernel delivered before the cancel landed is all
// this receive ever holds.
//
// The session keeps its own "waiting for input" flag; this class only routes completions.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/ring.hpp"

namespace ringlb {

class MultishotReceive {
 public:
  // What the session does with a completion of this socket's receive.
  enum class Route {
    kHandle,      // handle it now, as a single-shot receive's completion
    kQueued,      // it waits here; cancel the receive if should_cancel()
    kRearm,       // the receive ended quietly while the session waits: arm it again now
    kRetryLater,  // the buffer ring was empty while the session waits: arm again once buffers
                  // have been given back
    kNothing,     // the receive ended quietly; the session arms it when it next waits
  };
  static constexpr size_t kCancelAt = 1;
  // Set by pop() in place of IORING_CQE_F_BUFFER on a completion whose bytes waited here
  // (in the buffer-id bits, which mean nothing without that flag); popped_bytes() has them.
  static constexpr uint32_t kHeldBytes = 1u << IORING_CQE_BUFFER_SHIFT;

  // `waiting`: the session asked for input and has not been handed any since.
  Route on_completion(const io_uring_cqe& cqe, bool waiting);
  bool armed() const { return armed_; }
  void mark_armed() { armed_ = true; }
  // True once, when enough completions wait that the receive should be cancelled.
  bool should_cancel();
  bool has_arrival() const { return head_ < queue_.size(); }
  // After on_completion() said kQueued: copies the bytes of that completion into this receive's
  // memory and gives its buffer back.
  void hold_last(BufferRing& buffers);
  // The oldest waiting completion; with kHeldBytes instead of a buffer when it carried bytes.
  io_uring_cqe pop();
  // The bytes of the completion pop() returned last; valid until the next hold_last().
  std::string_view popped_bytes() const { return popped_; }
  // Forgets completions nobody will handle (the session is ending), giving back any buffer.
  void drop_arrivals(BufferRing& buffers);

 private:
  std::vector<io_uring_cqe> queue_;  // allocated only by a session that ever queues
  std::string held_;                 // the bytes of the waiting completions, in order
  size_t held_offset_ = 0;           // where the oldest waiting completion's bytes start
  std::string_view popped_;
  size_t head_ = 0;
  bool armed_ = false;
  bool cancelling_ = false;
};

}  // namespace ringlb
