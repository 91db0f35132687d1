// TcpSession's TLS layer, on either socket: handshakes, plaintext decrypted into the pipe's
// buffer (or its spill chunk), plaintext encrypted into the sink's channel, and the alert or
// close_notify let out before a close.
#include <cerrno>
#include <cstring>

#include "core/base/log.hpp"
#include "core/proxy/tcp_session.hpp"

namespace ringlb {

void TcpSession::start_tls(Socket socket, SSL_CTX* context) {
  const auto role = socket == kClientSocket ? TlsChannel::Role::kServer : TlsChannel::Role::kClient;
  const config::PoolTls* pool_tls =
      socket == kBackendSocket ? &listener_->pool->tls->config() : nullptr;
  const auto bios =
      ctx_->tuning.tls_memory_bios ? TlsChannel::Bios::kMemory : TlsChannel::Bios::kDirect;
  tls_[socket] =
      pool_tls ? std::make_unique<TlsChannel>(context, role, pool_tls->sni, pool_tls->verify, bios)
               : std::make_unique<TlsChannel>(context, role, "", false, bios);
  if (!tls_[socket]->valid()) {
    LOG_ERROR("cannot create a TLS connection (out of memory?)");
    return begin_close("tls error");
  }
  advance_handshake(socket);
}

// One step of a handshake, after new bytes came in (the pipe reading this socket then holds the
// buffer they came in) or to start a client's.
void TcpSession::advance_handshake(Socket socket) {
  TlsChannel& tls = *tls_[socket];
  TlsChannel::Status status = tls.handshake();
  const Direction from_socket = direction_from(socket);
  Pipe& pipe = pipes_[from_socket];
  if (status == TlsChannel::Status::kOk && pipe.buffer) {
    // Application data may have come with the handshake's last flight.
    status = read_plaintext(from_socket);
    if (status == TlsChannel::Status::kWantRead) status = TlsChannel::Status::kOk;
  }
  flush_tls(socket);
  if (pipe.length == 0) return_buffer(pipe);
  if (status == TlsChannel::Status::kWantRead) return arm_receive(from_socket);
  if (status != TlsChannel::Status::kOk && !tls.established()) {
    if (socket == kClientSocket) {
      ctx_->tls.count_failure(tls.plain_http(), listener_stats());
      LOG_DEBUG("listener %s: TLS handshake with a client failed: %s",
                listener_->config->name.c_str(), tls.failure().c_str());
      return close_after_flush(socket, "tls handshake failed");
    }
    LOG_WARN("pool %s: TLS handshake with %s failed: %s", listener_->pool->config->name.c_str(),
             backend_state().address().c_str(), tls.failure().c_str());
    attempt_.outcome = health::Outcome::kConnectFailed;
    return begin_close("backend tls handshake failed");
  }
  if (status == TlsChannel::Status::kFailed) {
    LOG_DEBUG("TLS error right after the handshake: %s", tls.failure().c_str());
    return begin_close(socket == kClientSocket ? "client error" : "backend error", false);
  }
  // Plaintext that came along waits until start_pumping() sends it. The client's waits in a
  // spill chunk, not in its shared buffer: a session never holds one while it waits on the
  // backend's connect and handshake (many such sessions would run the buffer ring dry).
  if (socket == kBackendSocket) return start_pumping();
  if (pipe.buffer && pipe.sent < pipe.length) spill_unsent(pipe);
  ctx_->tls.count_handshake(tls.resumed());
  connect_next();
}

// runtime.max_tls_handshakes_per_second, checked at a client's first byte (tls_handshake_rate.hpp).
bool TcpSession::handshake_allowed() {
  return ctx_->tls.allow_handshake(ctx_->now,
                                   snapshot_->config.runtime.max_tls_handshakes_per_second,
                                   snapshot_->workers, listener_stats());
}

// Decrypts what the source's channel holds into the pipe's buffer, up to its size.
TlsChannel::Status TcpSession::read_plaintext(Direction direction) {
  Pipe& pipe = pipes_[direction];
  size_t filled = 0;
  const TlsChannel::Status status =
      tls_[source_of(direction)].decrypt({pipe_data(pipe), ctx_->buffers.buffer_size()}, filled);
  pipe.length = static_cast<uint32_t>(filled);
  pipe.sent = 0;
  pipe.more = status == TlsChannel::Status::kOk;  // the buffer filled up first
  if (status == TlsChannel::Status::kClosed) pipe.eof = true;
  return status;
}

// Decrypts what the source's channel holds into the pipe's buffer, then sends it on.
void TcpSession::deliver_plaintext(Direction direction) {
  Pipe& pipe = pipes_[direction];
  TlsChannel& tls = *tls_[source_of(direction)];
  const TlsChannel::Status status = read_plaintext(direction);
  const uint32_t filled = pipe.length;
  flush_tls(source_of(direction));  // reading may have produced a reply (key update)
  if (status == TlsChannel::Status::kFailed) {
    LOG_DEBUG("TLS error from %s: %s", direction == kUpstream ? "client" : "backend",
              tls.failure().c_str());
    if (direction == kDownstream) attempt_.outcome = health::Outcome::kReset;
    return begin_close(direction == kUpstream ? "client error" : "backend error", false);
  }
  if (filled > 0) return send_pending(direction);
  return_buffer(pipe);
  if (pipe.eof) return finish_direction_if_drained(direction);
  arm_receive(direction);
}

void TcpSession::flush_tls(Socket socket) {
  const int fd = socket == kClientSocket ? client_fd_ : backend_fd_;
  if (!tls_[socket] || closing_ || fd < 0) return;
  // close_notify went out and the write side is shut (or shutting): what OpenSSL writes after it
  // (a KeyUpdate the peer requested after the end) has no socket to go to. It is dropped here,
  // as sent: a send would fail with EPIPE and close the session while the peer's bytes wait
  // unread, and that close would reset the connection and lose the data still in flight.
  const HalfClose& fin = pipes_[direction_into(socket)].fin;
  if (fin.begun() && !fin.close_notify_pending()) return tls_[socket].discard_unsent();
  tls_[socket].flush([&](std::string_view ciphertext) {
    io_uring_sqe* sqe = ctx_->ring.sqe();
    io_uring_prep_send(sqe, fd, ciphertext.data(), ciphertext.size(), MSG_NOSIGNAL);
    submit(sqe, socket == kClientSocket ? OpKind::kSendClient : OpKind::kSendBackend);
  });
}

void TcpSession::on_tls_sent(Socket socket, int result) {
  tls_[socket].on_sent(result);
  const TlsChannel& tls = *tls_[socket];
  if (closing_) return;
  if (result < 0) {
    LOG_DEBUG("send to %s: %s", socket == kClientSocket ? "client" : "backend",
              std::strerror(-result));
    if (socket == kBackendSocket) attempt_.outcome = health::Outcome::kReset;
    return begin_close(socket == kClientSocket ? "client error" : "backend error", false);
  }
  last_activity_ = ctx_->now;
  flush_tls(socket);
  if (close_when_flushed_.armed()) {
    if (tls.flushed()) begin_close(close_when_flushed_.cause(), false);
    return;
  }
  if (tls_[socket].receive_resumable()) arm_receive(direction_from(socket));
  const Direction into = direction_into(socket);
  Pipe& pipe = pipes_[into];
  if (pipe.sending && tls.sent_total() >= pipe.flush_mark) {
    pipe.sending = false;
    pipe.bytes += pipe.length - pipe.sent;
    pipe.sent = pipe.length;
    return on_pipe_sent(into);
  }
  if (pipe.fin.close_notify_pending() && tls.flushed()) {
    pipe.fin.close_notify_sent();
    finish_direction_if_drained(into);
  }
}

// A TLS client learns the end from close_notify, not from a bare FIN (a truncation). True when
// the session waits for it to go out (at most TlsStream::kCloseNotifyTimeout).
bool TcpSession::close_tls_gracefully(const char* cause) {
  TlsStream& tls = tls_[kClientSocket];
  if (close_when_flushed_.armed() || !tls || !tls->established() || tls->sending()) return false;
  if (!tls.finish(true, [&] { flush_tls(kClientSocket); })) return false;
  close_when_flushed_.arm(cause, ctx_->timers, timer_, ctx_->now);
  return true;
}

// Lets an alert the channel produced reach the peer before the connection closes.
void TcpSession::close_after_flush(Socket socket, const char* cause) {
  if (tls_[socket]->flushed()) return begin_close(cause, false);
  close_when_flushed_.arm(cause, ctx_->timers, timer_, ctx_->now);
}

}  // namespace ringlb
