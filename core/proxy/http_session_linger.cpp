// HttpSession's lingering close for HTTP/1.1 (core/proxy/linger.hpp, RFC 9112 §9.6): a
// connection closed after a response (Connection: close, an error response, a drain) may still
// hold bytes the client sent that no request took (a pipelined request, a TLS KeyUpdate), or
// receive some; a close would answer them with a TCP reset that throws away the end of the
// response still in the send buffer. So the write side is shut (after close_notify on TLS) and
// the client's bytes are read and dropped until it closes, or the linger runs out. The session
// holds no exchange and no backend connection meanwhile; it still counts as a connection.
#include <sys/socket.h>

#include <cerrno>

#include "core/proxy/http_session.hpp"

namespace ringlb {

// Decided when the close is asked for, before close_notify goes out: a response was sent on a
// connection whose client has not ended its side (nothing to drain after its FIN or an error).
// Not while a plain send to the client is in flight (a close mid-response): it points into the
// exchange, which the linger gives back.
bool HttpSession::linger_fits() const {
  return role_ == Role::kHttp1 && !client_eof_ && client_fd_ >= 0 && phase_ != Phase::kIdle &&
         phase_ != Phase::kTunnel && (!exchange_ || current().response_started) &&
         !(exchange_ && exchange_->output[kClient].sending && !tls_[kClient]) &&
         !request_splice_.active() && !response_splice_.active();
}

// False when the connection closes at once instead: a backend still busy (it is not waited
// for), or a write side that would not shut.
bool HttpSession::begin_linger(const char* cause) {
  if (!linger_fits()) return false;  // what it checked may have changed while close_notify went
  if (backend_fd_ >= 0) {
    const bool backend_busy = receiving_[kBackend] ||
                              (exchange_ && exchange_->output[kBackend].sending) ||
                              (tls_[kBackend] && !tls_[kBackend]->flushed());
    if (backend_busy) return false;
  }
  if (shutdown(client_fd_, SHUT_WR) != 0) return false;
  close_fd(backend_fd_);
  tls_[kBackend].reset();
  return_exchange();
  linger_.begin(cause, ctx_->now);
  ctx_->timers.schedule(timer_, linger_.until());
  arm_receive(kClient);
  return true;
}

// The client's bytes are counted as a sign of life and dropped, undecrypted: after close_notify
// nothing it sends is answered (a KeyUpdate request included).
void HttpSession::on_linger_receive(const io_uring_cqe& cqe) {
  give_back_received(cqe);
  if (cqe.res == -ENOBUFS) return wait_for_buffers(OpKind::kRecvClient);
  if (cqe.res <= 0) return close_now(linger_.cause(), false);  // its FIN (or an error): done
  linger_.heard(ctx_->now);
  ctx_->timers.schedule(timer_, linger_.until());
  arm_receive(kClient);
}

void HttpSession::on_linger_timer() {
  if (linger_.still_unread(client_fd_, ctx_->now)) {
    ctx_->timers.schedule(timer_, linger_.until());
    return;
  }
  close_now(linger_.cause(), false);
}

void HttpSession::return_exchange() {
  if (!exchange_) return;
  current().attempt.finish();
  drop_input(kClient);
  drop_input(kBackend);
  exchange_->output[kClient].clear();
  exchange_->output[kBackend].clear();
  ctx_->exchanges.release(std::move(exchange_));
}

}  // namespace ringlb
