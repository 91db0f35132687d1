// HttpSession's attempts on backends: pick one, take a pooled connection or connect (and shake
// hands for a TLS pool), and, when an attempt fails, ask the retry policy (retry_policy.hpp) what
// to do. Every retry path goes through on_attempt_failed(), and every new attempt starts from
// reset_attempt(), so no state of a failed attempt (a parser's position, received bytes, a TLS
// channel, a 1xx) can leak into the next one.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "balancers/hash_key.hpp"
#include "core/base/log.hpp"
#include "core/io/proxy_header_send.hpp"
#include "core/proxy/http_session.hpp"
#include "core/proxy/retry_policy.hpp"

namespace ringlb {
namespace {

// What consistent hashing sees of a request: its parsed head and the client's address.
class HeadView final : public balancers::RequestView {
 public:
  HeadView(const http::Head& head, const sockaddr_in6& peer) : head_(head), peer_(peer) {}
  std::span<const uint8_t> client_ip() const override { return peer_address_bytes(peer_); }
  std::string_view target() const override { return head_.target; }
  std::optional<std::string_view> header(std::string_view name, size_t nth) const override {
    if (http::iequals(name, "host")) {  // Host is kept apart from the fields
      return nth == 0 && !head_.host.empty() ? std::optional(head_.host) : std::nullopt;
    }
    for (const http::Field& field : head_.fields) {
      if (http::iequals(field.name, name) && nth-- == 0) return field.value;
    }
    return std::nullopt;
  }

 private:
  const http::Head& head_;
  const sockaddr_in6& peer_;
};

}  // namespace

void HttpSession::connect_backend(unsigned status_if_none, const char* reason_if_none) {
  const balancers::Balancer& balancer = *current().pool->balancer;
  std::optional<uint64_t> key_hash;
  if (balancer.uses_key() && balancer.init().hash_key) {
    key_hash = balancers::request_key_hash(*balancer.init().hash_key,
                                           HeadView(exchange_->request.head(), client_address_));
  }
  BackendAttempt& attempt = current().attempt;
  if (!attempt.pick(*current().pool, ctx_->worker_id, key_hash)) {
    return fail(status_if_none,
                attempt.backends_tried() == 0 ? "no eligible backend" : reason_if_none);
  }
  open_connection(true);
}

void HttpSession::open_connection(bool allow_pooled) {
  BackendAttempt& attempt = current().attempt;
  health::BackendState& state = attempt.state();
  const int pooled = allow_pooled ? ctx_->upstreams.take(state, ctx_->now, &tls_[kBackend]) : -1;
  if (pooled >= 0) {
    backend_fd_ = pooled;
    current().backend_reused = true;
    current().connected_at = ctx_->now;
    return check_pooled_connection();
  }
  current().backend_reused = false;
  const int fd =
      start_connect(attempt.address(), attempt.connect_timeout(), attempt.timeout_storage());
  if (fd < 0) {
    LOG_ERROR("socket for backend %s: %s", state.address().c_str(), std::strerror(-fd));
    return fail(503, "cannot create a socket");
  }
  backend_fd_ = fd;
}

// The backend owes nothing on an idle connection: any byte there (a late or unsolicited
// response, a 408 before its idle close, a TLS alert) would be read as this request's response,
// and a FIN means the request would be lost. A non-blocking peek answers which, without a syscall
// of its own: it goes out with the loop turn's other submissions (docs/choices.md, "Idle
// upstream connections are checked when taken"). For TLS any byte disqualifies the connection, even
// a post-handshake message.
void HttpSession::check_pooled_connection() {
  io_uring_sqe* sqe = ctx_->ring.sqe();
  io_uring_prep_recv(sqe, backend_fd_, &pooled_peek_, 1, MSG_PEEK | MSG_DONTWAIT);
  submit(sqe, OpKind::kPeekBackend);
}

void HttpSession::on_pooled_checked(int result) {
  if (closing_ || phase_ == Phase::kClosingAfterSend) return;
  if (result == -EAGAIN) return start_forwarding();  // nothing to read: clean
  LOG_DEBUG("pooled connection to %s discarded: %s", backend_state().address().c_str(),
            result > 0    ? "the backend sent bytes on it while it was idle"
            : result == 0 ? "the backend closed it while it was idle"
                          : std::strerror(-result));
  backend_state().stats(ctx_->worker_id).pooled_discarded.add();
  // Unasked bytes on a plain connection: the other idle ones may be a response behind too. (On
  // TLS a byte may be a late session ticket, no sign of a shifted connection.)
  if (result > 0 && !tls_[kBackend]) {
    const IdleUpstreams::Purge purge = ctx_->upstreams.close_idle(backend_state());
    if (purge.first) {
      LOG_WARN(
          "pool %s: backend %s wrote on an idle pooled connection; closed it and %zu other "
          "idle ones (logged once per backend and worker)",
          pool_config().name.c_str(), backend_state().address().c_str(), purge.closed);
    }
  }
  close_fd(backend_fd_);
  tls_[kBackend].reset();  // the peek read into pooled_peek_, not into the channel
  current().attempt.finish(health::Outcome::kSuccess);
  current().attempt.restart();
  open_connection(true);  // the next idle connection, or a new one
}

void HttpSession::on_connected(int result) {
  if (closing_ || phase_ == Phase::kClosingAfterSend) return;
  if (result == 0) {
    result = send_proxy_header(pool_config().send_proxy_protocol, backend_fd_, client_fd_,
                               client_address_, local_address_);
  }
  if (result == 0) {
    current().connected_at = ctx_->now;
    if (current().pool->tls) return start_backend_tls();
    return start_forwarding();
  }
  on_attempt_failed(current().attempt.connect_failed(ctx_->worker_id, result));
}

void HttpSession::start_backend_tls() {
  const TlsClientContext& context = *current().pool->tls;
  const config::PoolTls& settings = context.config();
  const auto bios =
      ctx_->tuning.tls_memory_bios ? TlsChannel::Bios::kMemory : TlsChannel::Bios::kDirect;
  tls_[kBackend] = std::make_unique<TlsChannel>(context.context(), TlsChannel::Role::kClient,
                                                settings.sni, settings.verify, bios);
  if (!tls_[kBackend]->valid()) return fail(502, "cannot create a TLS connection");
  ctx_->timers.schedule(timer_, deadline());  // the handshake gets the connect timeout
  advance_handshake(kBackend);
}

void HttpSession::on_backend_handshake_failed(const char* why) {
  LOG_WARN("pool %s: TLS handshake with %s failed: %s", pool_config().name.c_str(),
           backend_state().address().c_str(), why);
  backend_state().stats(ctx_->worker_id).connect_failures.add();
  on_attempt_failed(AttemptFailure::kTlsHandshake);
}

void HttpSession::start_forwarding() {
  set_phase(Phase::kForwarding);
  // A new connection listens at once, for a 100 Continue or an early response. A reused one
  // listens once the head is out: a FIN it already holds then means "closed while idle", and
  // the request can be sent again on a fresh connection.
  if (!current().backend_reused) arm_receive(kBackend);
  pump_request();
}

void HttpSession::on_attempt_failed(AttemptFailure failure) {
  const PendingOutput& to_backend = exchange_->output[kBackend];
  const PendingOutput& to_client = exchange_->output[kClient];
  const RequestState& request = current();
  const RetryDecision decision = decide_retry({
      .failure = failure,
      .reused_connection = request.backend_reused,
      .response_bytes_received = request.response_bytes_received,
      .response_reached_client = request.response_started || request.bytes_to_client > 0 ||
                                 !to_client.empty() || to_client.sending,
      .replayable = request.replayable,
      .operation_in_flight = receiving_[kBackend] || to_backend.sending ||
                             (tls_[kBackend] && tls_[kBackend]->sending()),
      .backends_tried = request.attempt.backends_tried(),
      .resends = request.resends,
  });
  current().attempt.outcome = decision.outcome;
  current().attempt.finish(decision.outcome);
  if (decision.action == RetryAction::kFail) return fail(decision.status, decision.reason);
  LOG_DEBUG(
      "%s (%s): trying again on %s", decision.reason, backend_state().address().c_str(),
      decision.action == RetryAction::kNewConnection ? "a new connection" : "another backend");
  listener_stats().retries.add();
  reset_attempt();
  set_phase(Phase::kConnecting);
  if (decision.action == RetryAction::kAnotherBackend) {
    return connect_backend(decision.status, decision.reason);
  }
  ++current().resends;
  current().attempt.restart();
  open_connection(false);
}

// Called only with nothing in flight on the backend connection (the policy's precondition for a
// retry), so closing it and freeing its channel leave no pointer to freed memory.
void HttpSession::reset_attempt() {
  close_fd(backend_fd_);
  tls_[kBackend].reset();
  drop_input(kBackend);
  PendingOutput& output = exchange_->output[kBackend];
  output.clear();
  output.add_scratch(exchange_->request_head);  // a request body, if any, was not read yet
  http::Parser& response = exchange_->response;
  response.reset();
  response.expect_no_body(exchange_->request.head().method == "HEAD");
  RequestState& request = current();
  request.response_bytes_received = false;
  request.interim_response = false;
  request.response_done = false;
  request.backend_keep_alive = false;
  request.to_client_framing = http::Framing::kNone;
  request.status = 0;
  request.connected_at = {};
  request.response_head_at = {};
  // A resent request waits its whole response timeout again, from now.
  if (request.request_done) request.request_done_at = ctx_->now;
}

}  // namespace ringlb
