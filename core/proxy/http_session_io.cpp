// HttpSession's byte plumbing: where unparsed input lives (a provided buffer, or the stash when
// a head straddles receives), and scatter sends built from head scratch and input slices.
// Invariant: input from one side is released only when no send to the other side points into
// it; a send the peer cannot take at once is first moved into owned memory (spill_unsent), so a
// slow reader never holds a provided buffer.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/base/log.hpp"
#include "core/http/http_serializer.hpp"
#include "core/proxy/http_session.hpp"

namespace ringlb {

std::string_view HttpSession::pending(Side from) const {
  const PendingInput& input = exchange_->input[from];
  if (!input.stash.empty()) {
    return std::string_view(input.stash).substr(input.stash_offset);
  }
  if (!input.buffer) return {};
  const char* data = input.buffer.data();
  return {data + input.offset, input.length - input.offset};
}

void HttpSession::consume(Side from, size_t bytes) {
  PendingInput& input = exchange_->input[from];
  if (!input.stash.empty()) {
    input.stash_offset += bytes;
  } else {
    input.offset += static_cast<uint32_t>(bytes);
  }
}

// The parser needs the rest of a head (or chunk line) contiguous with what follows: copy the
// unparsed tail out of the provided buffer so the buffer can go back to the kernel.
void HttpSession::stash_unparsed(Side from) {
  PendingInput& input = exchange_->input[from];
  if (!input.stash.empty() || !input.buffer) return;
  input.stash.assign(pending(from));
  input.stash_offset = 0;
  input.offset = input.length;
}

void HttpSession::release_consumed_input(Side from) {
  if (!exchange_) return;
  PendingInput& input = exchange_->input[from];
  if (input.offset == input.length) input.buffer.reset();
  if (!input.stash.empty() && input.stash_offset == input.stash.size()) {
    input.stash.clear();
    input.stash_offset = 0;
  }
}

void HttpSession::give_back_received(const io_uring_cqe& cqe) { ctx_->buffers.take(cqe).reset(); }

void HttpSession::accept_received(Side from, const io_uring_cqe& cqe) {
  BufferLease buffer = ctx_->buffers.take(cqe);
  const auto length = static_cast<uint32_t>(cqe.res);
  if (from == kBackend) current().response_bytes_received = true;
  PendingInput& input = exchange_->input[from];
  if (!buffer) {  // kHeldBytes: they join the stash, in order
    release_input_behind(from == kClient ? kBackend : kClient);
    input.stash.erase(0, input.stash_offset);
    input.stash_offset = 0;
    input.stash.append(client_receive_.popped_bytes());
    return;
  }
  if (!input.stash.empty()) {
    input.stash.erase(0, input.stash_offset);
    input.stash_offset = 0;
    input.stash.append(buffer.data(), length);
    return;  // the buffer goes back: the stash holds its bytes
  }
  input.buffer = std::move(buffer);
  input.offset = 0;
  input.length = length;
}

void HttpSession::arm_receive(Side from) {
  if (from == kClient && role_ == Role::kH2Stream) {
    if (closing_ || receiving_[kClient]) return;
    credit_stream_window();
    receiving_[kClient] = true;
    // Body already waiting is delivered next loop turn (retry_receive), not from in here.
    if (!stream_->inbox.empty()) hand_over_next_turn(OpKind::kRecvClient);
    return;
  }
  if (closing_ || receiving_[from] || awaiting_buffer_[from] || fd_of(from) < 0) return;
  const OpKind kind = from == kClient ? OpKind::kRecvClient : OpKind::kRecvBackend;
  if (tls_[from] && tls_[from]->peer_closed()) {
    receiving_[from] = true;
    return submit_end_of_input(kind);
  }
  // A TLS peer with more than TlsStream::kMaxUnsent waiting to go to it (KeyUpdate replies it
  // does not read) is read again once that went out (on_tls_sent).
  if (tls_[from] && !tls_[from].may_receive()) return;
  receiving_[from] = true;
  if (from == kClient && client_multishot_) {
    return wait_multishot(client_receive_, client_fd_, kind);
  }
  receiving_large_[from] = large_receive_[from] && role_ == Role::kHttp1;  // h2 keeps 16 KiB
  if (receiving_large_[from]) return submit_large_receive(fd_of(from), kind);
  submit_receive(fd_of(from), kind);
}

// RINGLB_LEVER_BIG_RECV on a plain HTTP/1.1 socket: a receive that filled a small buffer sends
// the next one to the larger group, one that did not brings it back. False when a large receive
// found its group empty: the caller re-arms at once in the small one (never parked for it).
bool HttpSession::adapt_receive_size(Side from, int result) {
  const bool was_large = std::exchange(receiving_large_[from], false);
  if (result == -ENOBUFS && was_large) {
    large_receive_[from] = false;
    return false;
  }
  if (result > 0 && ctx_->large_buffers != nullptr && !tls_[from] && role_ == Role::kHttp1) {
    large_receive_[from] = static_cast<uint32_t>(result) >= ctx_->buffers.buffer_size();
  }
  return true;
}

void HttpSession::add_body(Side to, std::string_view bytes, http::Framing framing) {
  PendingOutput& output = exchange_->output[to];
  if (framing != http::Framing::kChunked) {
    output.add_bytes(bytes);
    return;
  }
  const size_t start = output.scratch.size();
  http::append_chunk_header(bytes.size(), output.scratch);
  output.add_scratch_from(start);
  output.add_bytes(bytes);
  output.add_scratch(http::kChunkEnd);
}

// A plan that points into a provided buffer goes out first with MSG_DONTWAIT: a send the peer
// cannot take at once then completes (short, or -EAGAIN) instead of waiting for a slow reader
// while it holds a buffer the whole worker shares, and on_sent() moves the rest into the
// exchange's own memory. A fast peer takes it all in this one send, as before.
void HttpSession::send_output(Side to) {
  PendingOutput& output = exchange_->output[to];
  if (output.sending || output.empty()) return;
  if (to == kClient && role_ == Role::kH2Stream) return offer_stream_body();
  if (fd_of(to) < 0) return;
  if (tls_[to]) return send_tls(to);
  output.lay_out_pieces();
  const bool borrows_buffer =
      static_cast<bool>(exchange_->input[to == kClient ? kBackend : kClient].buffer);
  submit_send(to, borrows_buffer ? MSG_DONTWAIT : 0);
}

void HttpSession::submit_send(Side to, int flags) {
  PendingOutput& output = exchange_->output[to];
  output.message = {};
  output.message.msg_iov = output.pieces.data() + output.piece_offset;
  output.message.msg_iovlen = output.pieces.size() - output.piece_offset;
  io_uring_sqe* sqe = ctx_->ring.sqe();
  if (output.message.msg_iovlen == 1) {
    const iovec& piece = output.pieces[output.piece_offset];
    io_uring_prep_send(sqe, fd_of(to), piece.iov_base, piece.iov_len, MSG_NOSIGNAL | flags);
  } else {
    io_uring_prep_sendmsg(sqe, fd_of(to), &output.message, MSG_NOSIGNAL | flags);
  }
  output.sending = true;
  submit(sqe, to == kClient ? OpKind::kSendClient : OpKind::kSendBackend);
}

void HttpSession::on_sent(Side to, int result) {
  PendingOutput& output = exchange_->output[to];
  output.sending = false;
  if (closing_) return;
  if (result == -EAGAIN) result = 0;  // a MSG_DONTWAIT send found the socket full
  if (result < 0) return on_send_failed(to, result);
  if (result > 0) last_activity_ = ctx_->now;
  if (to == kClient) current().bytes_to_client += static_cast<uint64_t>(result);
  // A short send: skip what went out and send the rest, in order.
  auto remaining = static_cast<size_t>(result);
  while (output.piece_offset < output.pieces.size() &&
         remaining >= output.pieces[output.piece_offset].iov_len) {
    remaining -= output.pieces[output.piece_offset++].iov_len;
  }
  if (output.piece_offset < output.pieces.size()) {
    iovec& piece = output.pieces[output.piece_offset];
    piece.iov_base = static_cast<char*>(piece.iov_base) + remaining;
    piece.iov_len -= remaining;
    if (exchange_->input[to == kClient ? kBackend : kClient].buffer) spill_unsent(to);
    return submit_send(to, 0);  // waits for the peer, holding no provided buffer
  }
  on_output_sent(to);
}

// The peer is slow: what is left of the plan is copied into the exchange's scratch (pooled, so
// its capacity is reused), and the provided buffer it pointed into goes back to the ring now.
// A stalled session so holds at most one buffer's worth of its own memory, and no shared one.
void HttpSession::spill_unsent(Side to) {
  PendingOutput& output = exchange_->output[to];
  std::string& unsent = ctx_->spill;
  unsent.clear();
  for (size_t i = output.piece_offset; i < output.pieces.size(); ++i) {
    unsent.append(static_cast<const char*>(output.pieces[i].iov_base), output.pieces[i].iov_len);
  }
  output.scratch.swap(unsent);
  output.plan.assign(1, PendingOutput::Piece{nullptr, 0, output.scratch.size()});
  output.pieces.assign(1, iovec{output.scratch.data(), output.scratch.size()});
  output.piece_offset = 0;
  release_input_behind(to);
}

void HttpSession::release_input_behind(Side to) {
  const Side from = to == kClient ? kBackend : kClient;
  stash_unparsed(from);  // bytes not parsed yet (a pipelined request) leave the buffer too
  release_consumed_input(from);
}

void HttpSession::on_send_failed(Side to, int result) {
  LOG_DEBUG("send to %s: %s", to == kClient ? "client" : "backend", std::strerror(-result));
  if (to == kBackend && !current().response_started) {
    on_attempt_failed(AttemptFailure::kSendFailed);
  } else {
    close_now(to == kClient ? "client error" : "backend error", false);
  }
}

void HttpSession::on_output_sent(Side to) {
  if (to == kClient && role_ == Role::kH2Connection) return on_h2_output_sent();
  PendingOutput& output = exchange_->output[to];
  const Side from = to == kClient ? kBackend : kClient;
  output.clear();
  if (phase_ == Phase::kClosingAfterSend && to == kClient) {
    close_now(current().end_cause);
    return;
  }
  release_consumed_input(from);
  if (to == kBackend && phase_ == Phase::kForwarding) {
    const PendingInput& response_input = exchange_->input[kBackend];
    if (!response_input.buffer && response_input.stash.empty()) arm_receive(kBackend);
  }
  if (to == kClient && current().response_done) {
    finish_exchange();
    return;
  }
  pump(from);
}

}  // namespace ringlb
