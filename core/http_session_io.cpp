// HttpSession's byte plumbing: where unparsed input lives (a provided buffer, or the stash when
// a head straddles receives), and scatter sends built from head scratch and input slices.
// Invariant: input from one side is released only when no send to the other side is in flight,
// because that send may point into it.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/http_serializer.hpp"
#include "core/http_session.hpp"
#include "core/log.hpp"

namespace ringlb {

std::string_view HttpSession::pending(Side from) const {
  const PendingInput& input = exchange_->input[from];
  if (!input.stash.empty()) {
    return std::string_view(input.stash).substr(input.stash_offset);
  }
  if (input.buffer_id < 0) return {};
  const char* data = ctx_->buffers.data(static_cast<uint16_t>(input.buffer_id));
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
  if (!input.stash.empty() || input.buffer_id < 0) return;
  input.stash.assign(pending(from));
  input.stash_offset = 0;
  input.offset = input.length;
}

void HttpSession::release_consumed_input(Side from) {
  if (!exchange_) return;
  PendingInput& input = exchange_->input[from];
  if (input.buffer_id >= 0 && input.offset == input.length) {
    ctx_->buffers.give_back(static_cast<uint16_t>(input.buffer_id));
    input.buffer_id = -1;
  }
  if (!input.stash.empty() && input.stash_offset == input.stash.size()) {
    input.stash.clear();
    input.stash_offset = 0;
  }
}

void HttpSession::accept_received(Side from, const io_uring_cqe& cqe) {
  const auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  const auto length = static_cast<uint32_t>(cqe.res);
  PendingInput& input = exchange_->input[from];
  if (!input.stash.empty()) {
    input.stash.erase(0, input.stash_offset);
    input.stash_offset = 0;
    input.stash.append(ctx_->buffers.data(id), length);
    ctx_->buffers.give_back(id);
    return;
  }
  input.buffer_id = id;
  input.offset = 0;
  input.length = length;
}

void HttpSession::arm_receive(Side from) {
  if (closing_ || receiving_[from] || fd_of(from) < 0) return;
  receiving_[from] = true;
  const OpKind kind = from == kClient ? OpKind::kRecvClient : OpKind::kRecvBackend;
  if (tls_[from] && tls_[from]->peer_closed()) return submit_end_of_input(kind);
  if (from == kClient && client_multishot_) {
    return wait_multishot(client_receive_, client_fd_, kind);
  }
  submit_receive(fd_of(from), kind);
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

void HttpSession::send_output(Side to) {
  PendingOutput& output = exchange_->output[to];
  if (output.sending || output.empty() || fd_of(to) < 0) return;
  if (tls_[to]) return send_tls(to);
  output.pieces.clear();
  for (const PendingOutput::Piece& piece : output.plan) {
    const char* data = piece.data ? piece.data : output.scratch.data() + piece.scratch_offset;
    output.pieces.push_back({const_cast<char*>(data), piece.size});
  }
  output.piece_offset = 0;
  output.message = {};
  output.message.msg_iov = output.pieces.data();
  output.message.msg_iovlen = output.pieces.size();
  io_uring_sqe* sqe = ctx_->ring.sqe();
  if (output.pieces.size() == 1) {
    io_uring_prep_send(sqe, fd_of(to), output.pieces[0].iov_base, output.pieces[0].iov_len,
                       MSG_NOSIGNAL);
  } else {
    io_uring_prep_sendmsg(sqe, fd_of(to), &output.message, MSG_NOSIGNAL);
  }
  output.sending = true;
  submit(sqe, to == kClient ? OpKind::kSendClient : OpKind::kSendBackend);
}

void HttpSession::on_sent(Side to, int result) {
  PendingOutput& output = exchange_->output[to];
  output.sending = false;
  if (closing_) return;
  if (result < 0) return on_send_failed(to, result);
  last_activity_ = ctx_->now;
  if (to == kClient) current().bytes_out += static_cast<uint64_t>(result);
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
    output.message.msg_iov = output.pieces.data() + output.piece_offset;
    output.message.msg_iovlen = output.pieces.size() - output.piece_offset;
    io_uring_sqe* sqe = ctx_->ring.sqe();
    io_uring_prep_sendmsg(sqe, fd_of(to), &output.message, MSG_NOSIGNAL);
    output.sending = true;
    submit(sqe, to == kClient ? OpKind::kSendClient : OpKind::kSendBackend);
    return;
  }
  on_output_sent(to);
}

void HttpSession::on_send_failed(Side to, int result) {
  LOG_DEBUG("send to %s: %s", to == kClient ? "client" : "backend", std::strerror(-result));
  if (to == kBackend && can_resend_after_stale_reuse() && !receiving_[kBackend]) {
    retry_after_stale_connection();
  } else if (to == kBackend && !current().response_started) {
    current().outcome = health::Outcome::kReset;
    fail(502, "backend closed the connection while the request was sent");
  } else {
    close_now(to == kClient ? "client error" : "backend error", false);
  }
}

void HttpSession::on_output_sent(Side to) {
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
    if (response_input.buffer_id < 0 && response_input.stash.empty()) arm_receive(kBackend);
  }
  if (to == kClient && current().response_done) {
    finish_exchange();
    return;
  }
  pump(from);
}

}  // namespace ringlb
