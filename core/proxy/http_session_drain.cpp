// HttpSession's part in a graceful stop (and in a reload, which leaves its snapshot stale), as
// nginx and HAProxy do it: an idle keep-alive connection closes at once, a request under way is
// answered with Connection: close, and the connection ends after it. The worker calls drain()
// once; the keep-alive decisions in http_session.cpp read draining_ from then on.
#include <sys/ioctl.h>

#include "core/proxy/http_session.hpp"

namespace ringlb {

bool HttpSession::drain(bool stopping) {
  if (linger_.active()) {  // its response is out: the linger ends now, as nginx's does
    close_now("draining", false);
    return true;
  }
  if (closing_ || draining_ || close_when_flushed_.armed()) return false;
  if (role_ == Role::kH2Stream) return false;  // its connection's GOAWAY lets it finish
  draining_ = true;
  if (role_ == Role::kH2Connection) return drain_h2();
  // A reload leaves a connection that has not had its first request yet alone until that
  // request: closing it would race the client's first send, which clients do not retry.
  close_when_idle_ = stopping || served_;
  // Idle: between requests (or before the first one, a TLS handshake included) with no byte
  // of a request here yet. Bytes already here are a request on its way: it is answered.
  if (close_when_idle_ && phase_ == Phase::kIdle && !client_bytes_waiting()) {
    close_now("draining");
    return true;
  }
  // A response head still to come says Connection: close. One already sent said keep-alive:
  // the connection ends after its body instead (wait_for_next_request), and a pipelined request
  // already received is still answered, with Connection: close (on_request_head).
  if (exchange_ && !current().response_started) client_keep_alive_ = false;
  return false;
}

// Called before a request picks its pool, when nothing of this request points into the
// snapshot yet. The listeners of two snapshots of one loaded configuration are the same list in
// the same order; the old snapshot lives on while an in-flight stream or tunnel still holds it.
void HttpSession::adopt_current_snapshot() {
  if (ctx_->current_snapshot == nullptr) return;
  const std::shared_ptr<const Snapshot>& current = *ctx_->current_snapshot;
  if (!current || current == snapshot_ || current->loaded != snapshot_->loaded) return;
  const auto index = static_cast<size_t>(listener_ - snapshot_->listeners.data());
  if (index >= current->listeners.size() ||
      current->listeners[index].config->name != listener_->config->name) {
    return;
  }
  listener_ = &current->listeners[index];
  snapshot_ = current;
}

void HttpSession::wait_for_next_request() {
  drop_input(kClient);
  drop_input(kBackend);
  ctx_->exchanges.release(std::move(exchange_));
  served_ = true;
  if (draining_) return close_now("draining");
  set_phase(Phase::kIdle);
  arm_receive(kClient);
}

// The worker drains at the top of its loop turn, after handling every posted completion; with
// IORING_SETUP_DEFER_TASKRUN (the ring's setup where the kernel has it) no receive runs in
// between, so bytes that arrived since are still in the socket, where FIONREAD sees them. One
// ioctl per idle connection, once per stop.
bool HttpSession::client_bytes_waiting() const {
  if (client_multishot_ && client_receive_.has_arrival()) return true;
  if (tls_[kClient] && tls_[kClient]->input_pending()) return true;
  int queued = 0;
  return ioctl(client_fd_, FIONREAD, &queued) == 0 && queued > 0;
}

}  // namespace ringlb
