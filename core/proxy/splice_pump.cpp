// The splice pump (splice_pump.hpp): source → pipe → sink, a few pipe-fulls per wake-up, waiting
// on a ring poll whenever a side is not ready.
#include "core/proxy/splice_pump.hpp"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>

namespace ringlb {
namespace {

constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
// Pipe-fulls moved per wake-up before the worker turns to other sessions (the pump resumes
// next loop turn).
constexpr int kRoundsPerWakeUp = 4;

}  // namespace

SplicePump::Turn SplicePump::start(SpliceHost& host, WorkerContext& ctx, PipeLease pipe, Ends ends,
                                   uint64_t limit, bool may_stop) {
  host_ = &host;
  ctx_ = &ctx;
  ends_ = ends;
  pipe_ = static_cast<PipeLease&&>(pipe);
  left_ = limit;
  may_stop_ = may_stop;
  active_ = true;
  eof_ = false;
  error_ = 0;
  fill_blocked_ = false;
  last_fill_ = kFullReceiveBytes;  // L4 starts after full receives
  return pump();
}

SplicePump::Turn SplicePump::pump() {
  for (int round = 0; round < kRoundsPerWakeUp; ++round) {
    if (!active_) return Turn::kStopped;
    bool moved = false;
    if (pipe_.bytes() > 0 && !draining_) {
      const Step step = drain();
      if (step == Step::kFailed) return Turn::kFailed;
      moved = step == Step::kMoved;
    }
    if (pipe_ && pipe_.room() > 0 && !eof_ && left_ > 0 && !filling_ && !fill_blocked_) {
      const Step step = fill();
      if (step == Step::kFailed) return Turn::kFailed;
      if (step == Step::kStopped) return Turn::kStopped;
      moved = step == Step::kMoved || moved;
    }
    if ((eof_ || left_ == 0) && pipe_.bytes() == 0 && !filling_ && !draining_) {
      pipe_.reset();  // every byte before the end went out
      active_ = false;
      return Turn::kDone;
    }
    if (!moved) return Turn::kWaiting;
  }
  return Turn::kNextTurn;
}

SplicePump::Step SplicePump::fill() {
  filling_ = true;
  const auto length = static_cast<uint32_t>(std::min<uint64_t>(pipe_.room(), left_));
  int result = 0;
  if (!splice_now(ends_.source_fd, pipe_.write_fd(), length, ends_.from_source, result)) {
    return Step::kIdle;
  }
  return on_filled(result);
}

SplicePump::Step SplicePump::drain() {
  draining_ = true;
  int result = 0;
  if (!splice_now(pipe_.read_fd(), ends_.sink_fd, pipe_.bytes(), ends_.to_sink, result)) {
    return Step::kIdle;
  }
  return on_drained(result);
}

bool SplicePump::splice_now(int in, int out, uint32_t length, OpKind kind, int& result) {
  if (ctx_->tuning.splice == Tuning::Splice::kUring) {
    io_uring_sqe* sqe = ctx_->ring.sqe();
    io_uring_prep_splice(sqe, in, -1, out, -1, length, kSpliceFlags);
    host_->submit_splice(sqe, kind);
    pipe_.begin_transfer();  // given back before it completes, the pipe is closed, not pooled
    return false;
  }
  const ssize_t moved = ::splice(in, nullptr, out, nullptr, length, kSpliceFlags);
  result = moved >= 0 ? static_cast<int>(moved) : -errno;
  return true;
}

SplicePump::Step SplicePump::on_filled(int result) {
  filling_ = false;
  if (result > 0) {
    pipe_.filled(static_cast<uint32_t>(result));
    last_fill_ = static_cast<uint32_t>(result);
    if (left_ != kNoLimit) left_ -= static_cast<uint64_t>(result);
    host_->on_splice_moved();
    return Step::kMoved;
  }
  if (result == 0) {
    eof_ = true;  // the source's FIN: the end once the pipe has drained
    return Step::kMoved;
  }
  if (result == -EAGAIN) {
    // With bytes in the pipe, EAGAIN may mean the pipe is full rather than the socket empty:
    // the drain's progress decides when to try again. An empty pipe: the source is quiet.
    if (pipe_.bytes() > 0 || draining_) {
      fill_blocked_ = true;
      return Step::kIdle;
    }
    return wait_for_source();
  }
  return fail(true, result);
}

SplicePump::Step SplicePump::on_drained(int result) {
  draining_ = false;
  if (result > 0) {
    pipe_.drained(static_cast<uint32_t>(result));
    bytes_ += static_cast<uint64_t>(result);
    fill_blocked_ = false;
    host_->on_splice_moved();
    return Step::kMoved;
  }
  if (result == -EAGAIN || result == 0) {
    poll(false);  // the sink's socket buffer is full: a slow reader
    return Step::kIdle;
  }
  return fail(false, result);
}

SplicePump::Step SplicePump::fail(bool at_source, int result) {
  failed_at_source_ = at_source;
  error_ = -result;
  active_ = false;
  return Step::kFailed;
}

// The pipe is empty and the source has nothing. L4: the pipe goes back to the pool while the
// direction waits, and after a small fill the bursts are not bulk any more: copy again.
SplicePump::Step SplicePump::wait_for_source() {
  if (may_stop_) {
    pipe_.reset();
    if (last_fill_ < kFullReceiveBytes) {
      active_ = false;
      full_receives_ = 0;
      return Step::kStopped;
    }
  }
  poll(true);
  return Step::kIdle;
}

void SplicePump::poll(bool source) {
  (source ? filling_ : draining_) = true;
  (source ? polling_source_ : polling_sink_) = true;
  io_uring_sqe* sqe = ctx_->ring.sqe();
  io_uring_prep_poll_add(sqe, source ? ends_.source_fd : ends_.sink_fd, source ? POLLIN : POLLOUT);
  host_->submit_splice(sqe, source ? ends_.from_source : ends_.to_sink);
}

SplicePump::Turn SplicePump::on_completion(bool source, int result) {
  bool& polling = source ? polling_source_ : polling_sink_;
  if (!polling && pipe_) pipe_.end_transfer();  // a splice (uring), not a poll
  if (!active_) {  // stopped by the session (stop()): what was in flight just ends
    if (!polling && pipe_ && result > 0) {  // counted, so a pipe holding bytes is not pooled
      source ? pipe_.filled(static_cast<uint32_t>(result))
             : pipe_.drained(static_cast<uint32_t>(result));
    }
    polling = false;
    (source ? filling_ : draining_) = false;
    return Turn::kWaiting;
  }
  if (!polling) {  // a splice (uring): its result, then whatever can move next
    const Step step = source ? on_filled(result) : on_drained(result);
    if (step == Step::kFailed) return Turn::kFailed;
    if (step == Step::kStopped) return Turn::kStopped;
    return pump();
  }
  polling = false;
  (source ? filling_ : draining_) = false;
  if (result < 0) {  // not a cancel (the session stops calling once it closes): the poll failed
    fail(source, result);
    return Turn::kFailed;
  }
  if (source && !pipe_) {
    pipe_ = ctx_->pipes.take();
    if (!pipe_) {  // lent out meanwhile: copy
      active_ = false;
      full_receives_ = 0;
      return Turn::kStopped;
    }
  }
  return pump();
}

void SplicePump::stop() { active_ = false; }

}  // namespace ringlb
