// TcpSession with two buffers in flight per direction (Tuning::two_in_flight, plain sockets on
// both sides): the next receive is armed when a filled buffer is handed to its send, not once
// that send completed, so reading the source overlaps writing the sink. A buffer that arrives
// while the send is in flight is queued behind it (at most two provided buffers per direction),
// and the next send gathers what is waiting (SENDMSG with two pieces). One send is in flight per
// socket at a time, so bytes keep their order.
//
// Slow readers (docs/choices.md): sends from provided buffers go out with MSG_DONTWAIT; a short
// one moves both the rest and the queued buffer into owned chunks, gives both buffers back, and
// no receive is armed until the chunks have gone out. A receive already in flight then lands in
// a chunk too. A stalled direction so holds two chunks of its own and no shared buffer.
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/proxy/tcp_session.hpp"

namespace ringlb {

bool TcpSession::overlaps() const {
  return ctx_->tuning.two_in_flight && !tls_[kClientSocket] && !tls_[kBackendSocket];
}

void TcpSession::keep_received(Pipe& pipe, BufferLease buffer, uint32_t length) {
  if (!pipe.buffer && !pipe.spill) {
    pipe.buffer = std::move(buffer);
    pipe.length = length;
    pipe.sent = 0;
    return;
  }
  pipe.queued.buffer = std::move(buffer);  // only when overlapping: the pipe's buffer is sending
  pipe.queued.length = length;
  if (pipe.spill) spill_queued(pipe);  // the sink stalled: no shared buffer waits for it
}

void TcpSession::on_overlapped_receive(Direction direction) {
  if (!pipes_[direction].sending) send_gathered(direction);
  arm_receive(direction);  // unless two buffers are held now
}

void TcpSession::send_gathered(Direction direction) {
  Pipe& pipe = pipes_[direction];
  Queued& queued = pipe.queued;
  pipe.pieces[0] = {pipe_data(pipe) + pipe.sent, pipe.length - pipe.sent};
  if (queued.length > 0) {
    pipe.pieces[1] = {queued.spill ? queued.spill.get() : queued.buffer.data(), queued.length};
  }
  pipe.in_send = pipe.length - pipe.sent + queued.length;
  const int flags = MSG_NOSIGNAL | (pipe.buffer || queued.buffer ? MSG_DONTWAIT : 0);
  io_uring_sqe* sqe = ctx_->ring.sqe();
  if (queued.length == 0) {
    io_uring_prep_send(sqe, sink_fd(direction), pipe.pieces[0].iov_base, pipe.pieces[0].iov_len,
                       flags);
  } else {
    pipe.message = {};
    pipe.message.msg_iov = pipe.pieces.data();
    pipe.message.msg_iovlen = pipe.pieces.size();
    io_uring_prep_sendmsg(sqe, sink_fd(direction), &pipe.message, flags);
  }
  pipe.sending = true;
  submit(sqe, direction == kUpstream ? OpKind::kSendBackend : OpKind::kSendClient);
}

void TcpSession::on_gathered_sent(Direction direction, uint32_t result) {
  Pipe& pipe = pipes_[direction];
  const bool whole = result == pipe.in_send;
  const uint32_t from_first = std::min(result, pipe.length - pipe.sent);
  pipe.sent += from_first;
  if (pipe.sent == pipe.length && pipe.queued.length > 0) {
    // The pipe's buffer went out: the queued one takes its place, less what went out of it.
    if (pipe.spill) ctx_->spill_chunks.give_back(std::move(pipe.spill));
    pipe.buffer = std::move(pipe.queued.buffer);
    pipe.spill = std::move(pipe.queued.spill);
    pipe.length = pipe.queued.length;
    pipe.sent = result - from_first;
    pipe.queued.length = 0;
  }
  if (!whole) {  // the sink is behind: hold no shared buffer while waiting for it
    if (pipe.buffer) spill_unsent(pipe);
    if (pipe.queued.buffer) spill_queued(pipe);
    return send_gathered(direction);
  }
  if (pipe.sent < pipe.length) {  // a buffer queued after the send went out
    send_gathered(direction);
    return arm_receive(direction);
  }
  on_pipe_sent(direction);
}

void TcpSession::spill_queued(Pipe& pipe) {
  Queued& queued = pipe.queued;
  queued.spill = ctx_->spill_chunks.take(chunk_bytes());
  std::memcpy(queued.spill.get(), queued.buffer.data(), queued.length);
  queued.buffer.reset();
}

// ---- big receives: a socket that fills its buffer moves to the larger group, and back ----

void TcpSession::submit_pipe_receive(Direction direction) {
  Pipe& pipe = pipes_[direction];
  const OpKind kind = direction == kUpstream ? OpKind::kRecvClient : OpKind::kRecvBackend;
  pipe.receiving_large = pipe.large;
  if (pipe.large) return submit_large_receive(source_fd(direction), kind);
  submit_receive(source_fd(direction), kind);
}

bool TcpSession::adapt_receive_size(Pipe& pipe, int result) {
  const bool was_large = std::exchange(pipe.receiving_large, false);
  if (result == -ENOBUFS && was_large) {  // never parked for the large group: the small one
    pipe.large = false;
    return closing_;
  }
  if (result <= 0 || ctx_->large_buffers == nullptr || tls_[kClientSocket] ||
      tls_[kBackendSocket]) {
    return true;
  }
  pipe.large = static_cast<uint32_t>(result) >= ctx_->buffers.buffer_size();
  return true;
}

uint32_t TcpSession::chunk_bytes() const {
  return ctx_->large_buffers ? ctx_->large_buffers->buffer_size() : ctx_->buffers.buffer_size();
}

}  // namespace ringlb
