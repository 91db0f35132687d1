// HttpSession's clock: each phase has its deadline (header, idle, connect, response, the h2
// connection's), and the session's one timer fires at the nearest; on_timer() decides what a
// passed deadline means in the phase it passed in.
#include "core/proxy/http_session.hpp"

namespace ringlb {

void HttpSession::set_phase(Phase phase) {
  phase_ = phase;
  phase_since_ = ctx_->now;
  ctx_->timers.schedule(timer_, deadline());
}

TimerWheel::Clock::time_point HttpSession::deadline() const {
  const config::ListenerTimeouts& timeouts = listener_->config->timeouts;
  switch (phase_) {
    case Phase::kIdle:
      return phase_since_ + (handshaking() ? timeouts.tls_handshake : timeouts.client_idle);
    case Phase::kReadingHead:
      return phase_since_ + timeouts.header;
    case Phase::kForwarding:
      if (current().request_done)
        return current().request_done_at + pool_config().timeouts.response;
      return last_activity_ + timeouts.client_idle;
    case Phase::kConnecting:
      // A TLS handshake with the backend gets the connect timeout, like the connect itself.
      if (tls_[kBackend] && !tls_[kBackend]->established())
        return current().connected_at + pool_config().timeouts.connect;
      return last_activity_ + timeouts.client_idle;
    case Phase::kH2:
      return h2_deadline();
    default:
      return last_activity_ + timeouts.client_idle;
  }
}

void HttpSession::on_timer() {
  if (closing_) return;
  if (linger_.active()) return on_linger_timer();
  if (close_when_flushed_.armed()) {
    linger_wanted_ = false;  // the client did not take close_notify: it reads nothing more
    return close_now(close_when_flushed_.cause(), false);
  }
  const auto due = deadline();
  if (ctx_->now < due) {
    ctx_->timers.schedule(timer_, due);
    return;
  }
  switch (phase_) {
    case Phase::kIdle:
      return handshaking() ? on_handshake_timeout() : close_now("client idle timeout");
    case Phase::kReadingHead:
      fail(408, "request head not complete within the header timeout");
      return;
    case Phase::kForwarding:
      if (current().request_done) {
        current().attempt.outcome = health::Outcome::kReset;
        fail(504, "backend response timeout");
        return;
      }
      close_now("idle timeout");
      return;
    case Phase::kConnecting:
      if (tls_[kBackend] && !tls_[kBackend]->established()) {
        return on_backend_handshake_failed("timed out");
      }
      close_now("idle timeout");
      return;
    case Phase::kH2:
      return on_h2_timer();
    default:
      close_now("idle timeout");
      return;
  }
}

}  // namespace ringlb
