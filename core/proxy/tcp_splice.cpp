// The L4 tunnel's splice pump (tcp_splice.hpp): when a direction borrows a pipe, how it moves
// bytes through it, how it waits, and how it hands back to copying or carries the FIN on.
#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "core/base/log.hpp"
#include "core/proxy/tcp_session.hpp"

namespace ringlb {
namespace {

constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
// Pipe-fulls moved per wake-up before the worker turns to other sessions (the direction resumes
// next loop turn): a fast source and sink would otherwise keep it here indefinitely.
constexpr int kRoundsPerWakeUp = 4;

}  // namespace

bool TcpSession::start_splice(Direction direction) {
  SpliceDirection& splice = splices_[direction];
  if (ctx_->tuning.splice == Tuning::Splice::kOff || !splice.wants_pipe() || closing_) return false;
  if (tls_[kClientSocket] || tls_[kBackendSocket]) return false;  // the pipe would carry ciphertext
  // Bytes received into a provided buffer go out by a normal send first, in order.
  const Pipe& held = pipes_[direction];
  if (held.sending || held.buffer || held.spill) return false;
  splice.pipe = ctx_->pipes.take();
  if (!splice.pipe) return false;  // the pool is exhausted: copy
  splice.active = true;
  splice.last_fill = SpliceDirection::kFullReceiveBytes;  // the receives were full
  pump(direction);
  return true;
}

void TcpSession::pump(Direction direction) {
  SpliceDirection& splice = splices_[direction];
  for (int round = 0; round < kRoundsPerWakeUp; ++round) {
    if (closing_ || !splice.active) return;
    bool moved = false;
    if (splice.pipe.bytes() > 0 && !splice.draining) moved = drain_pipe(direction);
    if (closing_ || !splice.active) return;
    if (splice.pipe && splice.pipe.room() > 0 && !pipes_[direction].eof && !splice.filling &&
        !splice.fill_blocked) {
      moved = fill(direction) || moved;
    }
    if (closing_ || !splice.active) return;
    if (pipes_[direction].eof && splice.pipe.bytes() == 0 && !splice.filling && !splice.draining) {
      splice.pipe.reset();  // the source's FIN, and every byte before it went out
      splice.active = false;
      return finish_direction_if_drained(direction);
    }
    if (!moved) return;  // everything waits on a poll or a completion
  }
  hand_over_next_turn(direction == kUpstream ? OpKind::kRecvClient : OpKind::kRecvBackend);
}

bool TcpSession::fill(Direction direction) {
  SpliceDirection& splice = splices_[direction];
  splice.filling = true;
  int result = 0;
  if (!splice_now(source_fd(direction), splice.pipe.write_fd(), splice.pipe.room(),
                  direction == kUpstream ? OpKind::kSpliceFromClient : OpKind::kSpliceFromBackend,
                  result)) {
    return false;
  }
  return on_filled(direction, result);
}

bool TcpSession::drain_pipe(Direction direction) {
  SpliceDirection& splice = splices_[direction];
  splice.draining = true;
  int result = 0;
  if (!splice_now(splice.pipe.read_fd(), sink_fd(direction), splice.pipe.bytes(),
                  direction == kUpstream ? OpKind::kSpliceToBackend : OpKind::kSpliceToClient,
                  result)) {
    return false;
  }
  return on_drained(direction, result);
}

bool TcpSession::splice_now(int in, int out, uint32_t length, OpKind kind, int& result) {
  if (ctx_->tuning.splice == Tuning::Splice::kUring) {
    io_uring_sqe* sqe = ctx_->ring.sqe();
    io_uring_prep_splice(sqe, in, -1, out, -1, length, kSpliceFlags);
    submit(sqe, kind);
    return false;
  }
  const ssize_t moved = ::splice(in, nullptr, out, nullptr, length, kSpliceFlags);
  result = moved >= 0 ? static_cast<int>(moved) : -errno;
  return true;
}

bool TcpSession::on_filled(Direction direction, int result) {
  SpliceDirection& splice = splices_[direction];
  splice.filling = false;
  if (result > 0) {
    splice.pipe.filled(static_cast<uint32_t>(result));
    splice.last_fill = static_cast<uint32_t>(result);
    last_activity_ = ctx_->now;
    return true;
  }
  if (result == 0) {
    pipes_[direction].eof = true;  // the source's FIN: carried on once the pipe has drained
    return true;
  }
  if (result == -EAGAIN) {
    // With bytes in the pipe, EAGAIN may mean the pipe is full rather than the socket empty:
    // the drain's progress decides when to try again. An empty pipe: the source is quiet.
    if (splice.pipe.bytes() > 0 || splice.draining) {
      splice.fill_blocked = true;
    } else {
      wait_for_source(direction);
    }
    return false;
  }
  if (direction == kDownstream) attempt_.outcome = health::Outcome::kReset;
  LOG_DEBUG("splice from %s: %s", direction == kUpstream ? "client" : "backend",
            std::strerror(-result));
  begin_close(direction == kUpstream ? "client error" : "backend error", false);
  return false;
}

bool TcpSession::on_drained(Direction direction, int result) {
  SpliceDirection& splice = splices_[direction];
  splice.draining = false;
  if (result > 0) {
    splice.pipe.drained(static_cast<uint32_t>(result));
    pipes_[direction].bytes += static_cast<uint64_t>(result);
    splice.bytes += static_cast<uint64_t>(result);
    splice.fill_blocked = false;
    last_activity_ = ctx_->now;
    return true;
  }
  if (result == -EAGAIN || result == 0) {
    poll_for(direction, false);  // the sink's socket buffer is full: a slow reader
    return false;
  }
  if (direction == kUpstream) attempt_.outcome = health::Outcome::kReset;
  LOG_DEBUG("splice to %s: %s", direction == kUpstream ? "backend" : "client",
            std::strerror(-result));
  begin_close(direction == kUpstream ? "backend error" : "client error", false);
  return false;
}

// The pipe is empty and the source has nothing: the pipe goes back to the pool while the
// direction waits. After a small fill the bursts are not bulk any more: copy again.
void TcpSession::wait_for_source(Direction direction) {
  SpliceDirection& splice = splices_[direction];
  if (splice.last_fill < SpliceDirection::kFullReceiveBytes) return stop_splicing(direction);
  splice.pipe.reset();
  poll_for(direction, true);
}

void TcpSession::stop_splicing(Direction direction) {
  SpliceDirection& splice = splices_[direction];
  splice.pipe.reset();
  splice.active = false;
  splice.full_receives = 0;
  arm_receive(direction);
}

void TcpSession::poll_for(Direction direction, bool source) {
  SpliceDirection& splice = splices_[direction];
  bool& waiting = source ? splice.filling : splice.draining;
  waiting = true;
  (source ? splice.polling_source : splice.polling_sink) = true;
  io_uring_sqe* sqe = ctx_->ring.sqe();
  io_uring_prep_poll_add(sqe, source ? source_fd(direction) : sink_fd(direction),
                         source ? POLLIN : POLLOUT);
  const OpKind kind = direction == kUpstream
                          ? (source ? OpKind::kSpliceFromClient : OpKind::kSpliceToBackend)
                          : (source ? OpKind::kSpliceFromBackend : OpKind::kSpliceToClient);
  submit(sqe, kind);
}

void TcpSession::on_splice_completion(OpKind kind, int result) {
  const bool source = kind == OpKind::kSpliceFromClient || kind == OpKind::kSpliceFromBackend;
  const Direction direction = kind == OpKind::kSpliceFromClient || kind == OpKind::kSpliceToBackend
                                  ? kUpstream
                                  : kDownstream;
  SpliceDirection& splice = splices_[direction];
  bool& polling = source ? splice.polling_source : splice.polling_sink;
  if (!polling) {  // a splice (uring): its result, then whatever can move next
    if (closing_) {
      (source ? splice.filling : splice.draining) = false;
      return;
    }
    source ? on_filled(direction, result) : on_drained(direction, result);
    return pump(direction);
  }
  polling = false;
  (source ? splice.filling : splice.draining) = false;
  if (closing_) return;
  if (result < 0) {  // not a cancel (closing_ is false): the poll itself failed
    LOG_DEBUG("poll for splice: %s", std::strerror(-result));
    return begin_close(direction == kUpstream ? "client error" : "backend error", false);
  }
  if (source) {
    splice.pipe = ctx_->pipes.take();
    if (!splice.pipe) return stop_splicing(direction);  // lent out meanwhile: copy
  }
  pump(direction);
}

}  // namespace ringlb
