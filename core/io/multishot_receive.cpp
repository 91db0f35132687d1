// Routing a multishot receive's completions; see multishot_receive.hpp.
#include "core/io/multishot_receive.hpp"

#include <cerrno>

namespace ringlb {

MultishotReceive::Route MultishotReceive::on_completion(const io_uring_cqe& cqe, bool waiting) {
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    armed_ = false;
    cancelling_ = false;
  }
  // Our own backpressure cancel, or an empty buffer ring: an ending that is no news to the
  // session, which only needs its receive armed again once it waits.
  const bool has_buffer = (cqe.flags & IORING_CQE_F_BUFFER) != 0;
  if (!more && !has_buffer && (cqe.res == -ECANCELED || cqe.res == -ENOBUFS)) {
    if (!waiting || has_arrival()) return Route::kNothing;
    return cqe.res == -ENOBUFS ? Route::kRetryLater : Route::kRearm;
  }
  if (waiting && !has_arrival()) return Route::kHandle;
  queue_.push_back(cqe);
  return Route::kQueued;
}

bool MultishotReceive::should_cancel() {
  if (!armed_ || cancelling_ || queue_.size() - head_ < kCancelAt) return false;
  cancelling_ = true;
  return true;
}

void MultishotReceive::hold_last(BufferRing& buffers) {
  io_uring_cqe& last = queue_.back();
  const BufferLease buffer = buffers.take(last);
  if (!buffer) return;
  if (held_offset_ == held_.size()) {  // all handed over: start again at the front
    held_.clear();
    held_offset_ = 0;
  }
  if (last.res > 0) held_.append(buffer.data(), static_cast<size_t>(last.res));
  last.flags = (last.flags & (IORING_CQE_F_MORE | IORING_CQE_F_SOCK_NONEMPTY)) | kHeldBytes;
}

io_uring_cqe MultishotReceive::pop() {
  const io_uring_cqe oldest = queue_[head_++];
  popped_ = {};
  if ((oldest.flags & kHeldBytes) != 0 && oldest.res > 0) {
    popped_ = std::string_view(held_).substr(held_offset_, static_cast<size_t>(oldest.res));
    held_offset_ += popped_.size();
  }
  if (head_ == queue_.size()) {
    queue_.clear();
    head_ = 0;
  }
  return oldest;
}

void MultishotReceive::drop_arrivals(BufferRing& buffers) {
  for (size_t i = head_; i < queue_.size(); ++i) buffers.take(queue_[i]).reset();
  queue_.clear();
  head_ = 0;
  held_.clear();
  held_offset_ = 0;
  popped_ = {};
}

}  // namespace ringlb
