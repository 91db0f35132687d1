// HttpSession's TLS layer: handshakes as part of receiving, plaintext into the input stash, send
// plans encrypted whole into the channel, and close_notify before a close. Every byte still
// moves through the worker's ring; OpenSSL only sees memory.
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/base/log.hpp"
#include "core/proxy/http_session.hpp"

namespace ringlb {
namespace {

constexpr size_t kDecryptChunk = size_t{16} * 1024;  // one TLS record's worth of plaintext at most
// A plan's piece this large is encrypted where it lies; smaller ones (a head, a chunk's framing)
// are gathered with their neighbours first, so they do not each become a record of their own.
constexpr size_t kEncryptInPlace = size_t{4} * 1024;

}  // namespace

void HttpSession::on_tls_receive(Side from, const io_uring_cqe& cqe) {
  BufferLease buffer = ctx_->buffers.take(cqe);
  TlsChannel& tls = *tls_[from];
  if (from == kClient && tls.fed() == 0 &&
      !ctx_->tls.allow_handshake(ctx_->now, snapshot_->config.runtime.max_tls_handshakes_per_second,
                                 snapshot_->workers, listener_stats())) {
    buffer.reset();
    return close_now("tls handshake rate limit", false);
  }
  const bool fed = tls.feed(buffer.data(), static_cast<size_t>(cqe.res));
  buffer.reset();  // the channel holds a copy of the ciphertext
  if (!fed) {
    LOG_DEBUG("%s sent more TLS input than is ever left undecrypted",
              from == kClient ? "client" : "backend");
    if (from == kBackend) current().attempt.outcome = health::Outcome::kReset;
    return close_now(from == kClient ? "client tls error" : "backend tls error", false);
  }
  last_activity_ = ctx_->now;
  if (!tls.established() && !advance_handshake(from)) return;
  bool lent_now = !exchange_;
  if (lent_now) {
    exchange_ = ctx_->exchanges.acquire();
    exchange_->request.set_limits(request_limits());
  }
  if (from == kClient && h2_by_alpn()) {  // ALPN chose h2: the exchange stays, for the frames
    switch_to_h2();
    lent_now = false;
  }
  const size_t before = pending(from).size();
  const TlsChannel::Status status = decrypt_into_stash(from);
  const size_t received = pending(from).size() - before;
  flush_tls(from);  // reading may have produced a reply (a key update)
  if (status == TlsChannel::Status::kFailed) {
    LOG_DEBUG("TLS error from the %s: %s", from == kClient ? "client" : "backend",
              tls.failure().c_str());
    if (from == kBackend) current().attempt.outcome = health::Outcome::kReset;
    return close_now(from == kClient ? "client tls error" : "backend tls error", false);
  }
  if (phase_ == Phase::kTunnel) {
    if (from == kClient) current().bytes_from_client += received;
    return on_tunnel_tls_receive(from, status == TlsChannel::Status::kClosed);
  }
  // A partial record or a ticket: nothing to parse yet. After a close_notify, arm_receive()
  // reports the end of the peer's input as a FIN would.
  if (received == 0) {
    if (role_ == Role::kH2Connection) return pump_h2();  // the server's SETTINGS go out
    if (lent_now) ctx_->exchanges.release(std::move(exchange_));
    // Draining, a handshake that just completed leaves the connection idle: it ends here.
    if (close_when_idle_ && phase_ == Phase::kIdle && !tls.input_pending())
      return close_now("stopping");
    return arm_receive(from);
  }
  if (from == kClient) current().bytes_from_client += received;
  if (from == kBackend) current().response_bytes_received = true;
  if (from == kClient && phase_ == Phase::kIdle) {
    current().request_started = ctx_->now;
    set_phase(Phase::kReadingHead);
  }
  pump(from);
}

bool HttpSession::advance_handshake(Side side) {
  TlsChannel& tls = *tls_[side];
  const TlsChannel::Status status = tls.handshake();
  flush_tls(side);
  if (status == TlsChannel::Status::kWantRead) {
    arm_receive(side);
    return false;
  }
  if (status == TlsChannel::Status::kOk) {
    if (side == kClient) {
      ctx_->tls.count_handshake(tls.resumed());
      return true;
    }
    start_forwarding();
    return false;
  }
  if (side == kBackend) {
    on_backend_handshake_failed(tls.failure().c_str());
    return false;
  }
  ctx_->tls.count_failure(tls.plain_http(), listener_stats());
  LOG_DEBUG("listener %s: TLS handshake with a client failed: %s", listener_->config->name.c_str(),
            tls.failure().c_str());
  close_now("tls handshake failed");
  return false;
}

void HttpSession::on_handshake_timeout() {
  ctx_->tls.count_failure(false, listener_stats());
  LOG_DEBUG("listener %s: TLS handshake with a client not done within %lldms",
            listener_->config->name.c_str(),
            static_cast<long long>(listener_->config->timeouts.tls_handshake.count()));
  close_now("tls handshake timeout", false);
}

TlsChannel::Status HttpSession::decrypt_into_stash(Side from) {
  PendingInput& input = exchange_->input[from];
  if (input.stash_offset > 0) {
    input.stash.erase(0, input.stash_offset);
    input.stash_offset = 0;
  }
  TlsChannel::Status status = TlsChannel::Status::kOk;
  while (status == TlsChannel::Status::kOk) {
    const size_t old_size = input.stash.size();
    input.stash.resize(old_size + kDecryptChunk);
    size_t read = 0;
    status = tls_[from].decrypt({input.stash.data() + old_size, kDecryptChunk}, read);
    input.stash.resize(old_size + read);
  }
  return status;
}

// Encrypts the whole plan at once; the plan counts as sent when its last ciphertext byte is.
// Large pieces (a body's buffers) go to OpenSSL where they lie, not copied into one string first.
void HttpSession::send_tls(Side to) {
  PendingOutput& output = exchange_->output[to];
  TlsChannel& tls = *tls_[to];
  std::string& gathered = ctx_->tls_plaintext;
  gathered.clear();
  size_t plan_bytes = 0;
  const size_t in_place = ctx_->tuning.tls_gather_plan ? SIZE_MAX : kEncryptInPlace;
  for (const PendingOutput::Piece& piece : output.plan) {
    const char* data = piece.data ? piece.data : output.scratch.data() + piece.scratch_offset;
    plan_bytes += piece.size;
    if (piece.size < in_place) {
      gathered.append(data, piece.size);
      continue;
    }
    if (!gathered.empty()) tls.write(gathered);
    gathered.clear();
    tls.write({data, piece.size});
  }
  if (!gathered.empty()) tls.write(gathered);
  release_input_behind(to);  // the channel holds the bytes now; the peer may be slow
  output.plan_bytes = plan_bytes;
  output.tls_mark = tls.produced();
  output.sending = true;
  flush_tls(to);
}

void HttpSession::flush_tls(Side side) {
  if (!tls_[side] || closing_ || fd_of(side) < 0) return;
  // A tunnel's side whose close_notify went out and whose write side is shut: what OpenSSL
  // writes after it (a KeyUpdate reply) is dropped, as TcpSession::flush_tls does.
  const HalfClose& fin = tunnel_[side].fin;
  if (phase_ == Phase::kTunnel && fin.begun() && !fin.close_notify_pending()) {
    return tls_[side].discard_unsent();
  }
  tls_[side].flush([&](std::string_view ciphertext) {
    io_uring_sqe* sqe = ctx_->ring.sqe();
    io_uring_prep_send(sqe, fd_of(side), ciphertext.data(), ciphertext.size(), MSG_NOSIGNAL);
    submit(sqe, side == kClient ? OpKind::kSendClient : OpKind::kSendBackend);
  });
}

void HttpSession::on_tls_sent(Side to, int result) {
  tls_[to].on_sent(result);
  const TlsChannel& tls = *tls_[to];
  if (closing_) return;
  if (close_when_flushed_.armed()) {
    if (result < 0) linger_wanted_ = false;
    if (result < 0 || tls.flushed()) return close_now(close_when_flushed_.cause(), false);
    return flush_tls(to);
  }
  PendingOutput* output = exchange_ ? &exchange_->output[to] : nullptr;
  if (result < 0) {
    if (output != nullptr && output->sending) {
      output->sending = false;
      return on_send_failed(to, result);
    }
    if (to == kBackend && phase_ == Phase::kConnecting) {
      return on_backend_handshake_failed(std::strerror(-result));  // a reset mid-handshake
    }
    LOG_DEBUG("send to %s: %s", to == kClient ? "client" : "backend", std::strerror(-result));
    return close_now(to == kClient ? "client error" : "backend error", false);
  }
  last_activity_ = ctx_->now;
  flush_tls(to);
  if (phase_ != Phase::kClosingAfterSend && tls_[to].receive_resumable()) arm_receive(to);
  if (tunnel_close_notify_pending(to) && tls.flushed()) return on_tunnel_close_notify_sent(to);
  if (output == nullptr || !output->sending || tls.sent_total() < output->tls_mark) return;
  output->sending = false;
  if (to == kClient) current().bytes_to_client += output->plan_bytes;
  on_output_sent(to);
}

bool HttpSession::close_tls_gracefully(const char* cause) {
  TlsStream& tls = tls_[kClient];
  if (!tls || close_when_flushed_.armed()) return false;
  // close_notify says the data ended where the server meant it to (RFC 8446 §6.1). A response
  // cut short (a backend that reset or closed mid-body, a failure after the head went out)
  // must end without it, or a close-delimited body would look whole to the client. A tunnel
  // has no end of its own; how it closes is the tunnel's choice (close_now's `graceful`).
  const bool cut_short = exchange_ && current().response_started && !current().response_done &&
                         phase_ != Phase::kTunnel;
  // close_notify, once established; else only a pending alert goes out. Either way what is
  // already encrypted (the response so far, a failed handshake's alert) goes out first.
  if (!tls.finish(!cut_short, [&] { flush_tls(kClient); })) return false;
  close_when_flushed_.arm(cause, ctx_->timers, timer_, ctx_->now);
  return true;
}

}  // namespace ringlb
