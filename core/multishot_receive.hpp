// One socket's multishot receive (IORING_RECV_MULTISHOT with provided buffers). Armed once, the
// kernel keeps it armed: a keep-alive request then costs no new receive, no failed first attempt
// and no poll arm. It delivers whenever bytes arrive, also while the session is still sending
// the previous buffer; such completions wait here, in order, until the session asks for the next
// one. Once kCancelAt of them wait, the session cancels the receive (backpressure: one fast sender
// cannot drain the worker's buffer ring) and arms it again when it has taken them.
//
// The session keeps its own "waiting for input" flag; this class only routes completions.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <vector>

#include "core/ring.hpp"

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
  static constexpr size_t kCancelAt = 2;

  // `waiting`: the session asked for input and has not been handed any since.
  Route on_completion(const io_uring_cqe& cqe, bool waiting);
  bool armed() const { return armed_; }
  void mark_armed() { armed_ = true; }
  // True once, when enough completions wait that the receive should be cancelled.
  bool should_cancel();
  bool has_arrival() const { return head_ < queue_.size(); }
  // The oldest waiting completion, as the kernel posted it.
  io_uring_cqe pop();
  // Gives back the buffers of completions nobody will handle (the session is ending).
  void drop_arrivals(BufferRing& buffers);

 private:
  std::vector<io_uring_cqe> queue_;  // allocated only by a session that ever queues
  size_t head_ = 0;
  bool armed_ = false;
  bool cancelling_ = false;
};

}  // namespace ringlb
