// HttpSession's flow: read a request head, route and connect, stream the request body, parse
// and re-frame the response, then either keep the client connection for the next request or
// close. Errors before the first response byte become the proxy's own 4xx/5xx.
#include "core/proxy/http_session.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/base/log.hpp"
#include "core/http/http_serializer.hpp"
#include "core/proxy/http_route.hpp"
#include "core/proxy/retry_policy.hpp"

namespace ringlb {
namespace {

using http::Framing;
using http::ParseEvent;

}  // namespace

void HttpSession::start(WorkerContext& ctx, OpTag tag, int client_fd,
                        std::shared_ptr<const Snapshot> snapshot, const Listener& listener,
                        const CarriedAddresses* carried) {
  bind(ctx, tag);
  client_fd_ = client_fd;
  snapshot_ = std::move(snapshot);
  listener_ = &listener;
  last_activity_ = ctx.now;
  listener_stats().accepted.add();
  listener_stats().active_up.add();
  if (carried != nullptr) {
    client_address_ = carried->client;
    local_address_ = carried->local;
  } else {
    socklen_t length = sizeof(client_address_);
    getpeername(client_fd, reinterpret_cast<sockaddr*>(&client_address_), &length);
  }
  format_client_ip();
  set_phase(Phase::kIdle);
  if (listener.tls) {
    const auto bios =
        ctx_->tuning.tls_memory_bios ? TlsChannel::Bios::kMemory : TlsChannel::Bios::kDirect;
    tls_[kClient] = std::make_unique<TlsChannel>(listener.tls->initial(), TlsChannel::Role::kServer,
                                                 "", false, bios);
    if (!tls_[kClient]->valid()) return close_now("cannot create a TLS connection", false);
  }
  client_multishot_ = !tls_[kClient] && ctx_->tuning.multishot_receive;
  arm_receive(kClient);
}

health::BackendState& HttpSession::backend_state() const { return current().attempt.state(); }

void HttpSession::on_completion(OpKind kind, const io_uring_cqe& cqe) {
  completed(cqe);
  switch (kind) {
    case OpKind::kRecvClient:
      if (client_multishot_ &&
          !route_multishot(client_receive_, cqe, receiving_[kClient], client_fd_, kind)) {
        break;
      }
      on_receive(kClient, cqe);
      break;
    case OpKind::kRecvBackend:
      on_receive(kBackend, cqe);
      break;
    case OpKind::kSendClient:
      on_send_completion(kClient, cqe.res);
      break;
    case OpKind::kSendBackend:
      on_send_completion(kBackend, cqe.res);
      break;
    case OpKind::kConnect:
      on_connected(cqe.res);
      break;
    case OpKind::kPeekBackend:
      on_pooled_checked(cqe.res);
      break;
    case OpKind::kShutdownClient:
      if (phase_ == Phase::kH2) break;  // the write side shut at the end of a linger
      on_tunnel_shutdown(kClient, cqe.res);
      break;
    case OpKind::kShutdownBackend:
      on_tunnel_shutdown(kBackend, cqe.res);
      break;
    case OpKind::kSpliceFromClient:
    case OpKind::kSpliceToBackend:
    case OpKind::kSpliceFromBackend:
    case OpKind::kSpliceToClient:
      on_body_splice_completion(kind, cqe.res);
      break;
    default:
      break;  // link timeouts and cancels carry nothing to act on
  }
}

// A send toward a TLS side sent its channel's ciphertext; toward a plain one, the plan's bytes.
void HttpSession::on_send_completion(Side to, int result) {
  if (tls_[to]) return on_tls_sent(to, result);
  on_sent(to, result);
}

void HttpSession::retry_receive(OpKind kind) {
  const Side side = kind == OpKind::kRecvClient ? kClient : kBackend;
  awaiting_buffer_[side] = false;  // whichever way it resumes, nothing is parked any more
  if (role_ == Role::kH2Stream) {  // arm_receive found body waiting in the inbox
    if (kind == OpKind::kRecvClient && receiving_[kClient]) deliver_stream_body();
    if (kind == OpKind::kRecvClient) return;
  }
  if (resume_body_splice(kind)) return;
  if (kind == OpKind::kRecvClient && client_multishot_) {
    io_uring_cqe next{};
    if (resume_multishot(client_receive_, receiving_[kClient], client_fd_, kind, next)) {
      on_receive(kClient, next);
    }
    return;
  }
  arm_receive(side);
}

// ---- receiving ----

void HttpSession::on_receive(Side from, const io_uring_cqe& cqe) {
  receiving_[from] = false;
  if (!adapt_receive_size(from, cqe.res)) {  // no large buffer was free: a small one, now
    if (!closing_ && phase_ != Phase::kClosingAfterSend) arm_receive(from);
    return;
  }
  if (linger_.active()) return on_linger_receive(cqe);
  const bool has_buffer = (cqe.flags & IORING_CQE_F_BUFFER) != 0;
  if (close_when_flushed_.armed()) return give_back_received(cqe);
  if (tls_[from] && !closing_ && phase_ != Phase::kClosingAfterSend && cqe.res > 0 && has_buffer) {
    return on_tls_receive(from, cqe);
  }
  const bool has_bytes = has_buffer || (cqe.flags & MultishotReceive::kHeldBytes) != 0;
  if (closing_ || phase_ == Phase::kClosingAfterSend || cqe.res <= 0 || !has_bytes) {
    give_back_received(cqe);
    if (!closing_ && phase_ != Phase::kClosingAfterSend) on_receive_end(from, cqe.res);
    return;
  }
  last_activity_ = ctx_->now;
  if (!exchange_) {
    exchange_ = ctx_->exchanges.acquire();
    exchange_->request.set_limits(request_limits());
  }
  if (from == kClient) current().bytes_from_client += static_cast<uint64_t>(cqe.res);
  if (from == kClient && phase_ == Phase::kIdle) {
    current().request_started = ctx_->now;
    set_phase(Phase::kReadingHead);
  }
  accept_received(from, cqe);
  pump(from);
}

void HttpSession::on_receive_end(Side from, int result) {
  if (result == -ENOBUFS) {
    awaiting_buffer_[from] = true;
    wait_for_buffers(from == kClient ? OpKind::kRecvClient : OpKind::kRecvBackend);
    return;
  }
  if (phase_ == Phase::kTunnel) return on_tunnel_receive_end(from, result);
  if (from == kClient && role_ == Role::kH2Connection) return on_h2_client_end(result);
  if (from == kClient) {
    client_eof_ = true;
    if (result < 0) return close_now("client error");
    if (phase_ == Phase::kIdle) return close_now("client closed");
    if (!current().request_done) return close_now("client closed early");
    client_keep_alive_ = false;  // request complete: still deliver the response
    return;
  }
  if (result == 0 && phase_ == Phase::kResponding &&
      exchange_->response.head().framing == Framing::kUntilClose) {
    if (exchange_->response.finish_on_close() == ParseEvent::kDone) {
      current().backend_keep_alive = false;
      on_response_done();
      return;
    }
  }
  if (phase_ == Phase::kConnecting && tls_[kBackend]) {
    return on_backend_handshake_failed(result == 0 ? "closed by the backend" : "reset");
  }
  current().attempt.outcome = health::Outcome::kReset;
  if (phase_ == Phase::kForwarding && !current().response_started) {
    return on_attempt_failed(result == 0 ? AttemptFailure::kClosed : AttemptFailure::kReset);
  }
  close_now(result == 0 ? "backend closed mid-response" : "backend reset mid-response");
}

void HttpSession::pump(Side from) {
  if (closing_ || phase_ == Phase::kClosingAfterSend) return;
  if (phase_ == Phase::kH2) return pump_h2();
  if (phase_ == Phase::kTunnel) return pump_tunnel(from);
  if (from == kClient) return pump_request();
  pump_response();
}

// ---- the request ----

void HttpSession::pump_request() {
  if (!exchange_) return arm_receive(kClient);
  PendingOutput& output = exchange_->output[kBackend];
  if (output.sending) return;
  if (phase_ == Phase::kConnecting) return release_input_behind(kBackend);  // see the end
  if (phase_ == Phase::kReadingHead && role_ == Role::kHttp1 && check_h2_preface()) return;
  http::Parser& parser = exchange_->request;
  while (!current().request_done) {
    const std::string_view input = pending(kClient);
    if (input.empty() && !parser.head_done()) break;  // with the head done, the end may be due
    size_t consumed = 0;
    const ParseEvent event = parser.parse(input, consumed);
    consume(kClient, consumed);
    if (event == ParseEvent::kNeedMore) {
      if (consumed < input.size()) stash_unparsed(kClient);
      break;
    }
    if (event == ParseEvent::kError) return fail(parser.error().status, parser.error().reason);
    if (event == ParseEvent::kHead) {
      if (!on_request_head()) return;
      if (phase_ == Phase::kConnecting) return release_input_behind(kBackend);
    } else if (event == ParseEvent::kBody) {
      add_body(kBackend, parser.body(), current().to_backend_framing);
    } else if (event == ParseEvent::kDone) {
      if (current().to_backend_framing == Framing::kChunked) output.add_scratch(http::kLastChunk);
      current().request_done = true;
      current().request_done_at = ctx_->now;
      if (phase_ == Phase::kForwarding) ctx_->timers.schedule(timer_, deadline());
    }
  }
  if (!output.empty()) return send_output(kBackend);
  // Waiting on the backend, a session holds no shared buffer: a pipelined request, or a body's
  // start while connecting, waits in the stash (docs/choices.md, "Slow readers").
  if (current().request_done) return release_input_behind(kBackend);
  release_consumed_input(kClient);
  if (start_request_splice()) return;
  arm_receive(kClient);
}

bool HttpSession::on_request_head() {
  adopt_current_snapshot();
  const http::Head& head = exchange_->request.head();
  current().pool = pick_pool(*listener_, head, exchange_->route_path);
  if (current().pool == nullptr) {
    fail(400, "request path with a bad percent-encoding");
    return false;
  }
  client_keep_alive_ = head.keep_alive && !draining_;
  current().to_backend_framing = head.framing;
  exchange_->response.expect_no_body(head.method == "HEAD");
  // The backend gets exactly the id that is logged: the client's when it fits, else a new one.
  const std::string_view client_id = head.find("X-Request-Id");
  if (client_id.empty() || client_id.size() >= sizeof(current().request_id)) {
    next_request_id(*ctx_, current().request_id);
  } else {
    std::memcpy(current().request_id, client_id.data(), client_id.size());
    current().request_id[client_id.size()] = '\0';
  }
  const http::ForwardContext context{client_ip_, listener_->tls ? "https" : "http",
                                     current().request_id, current().pool->config->name,
                                     role_ == Role::kH2Stream ? "2 ringlb" : "1.1 ringlb"};
  PendingOutput& output = exchange_->output[kBackend];
  const size_t start = output.scratch.size();
  http::append_request_head(head, current().to_backend_framing, context, output.scratch);
  output.add_scratch_from(start);
  // Kept for a new attempt; only a request without a body may be sent again once it went out.
  exchange_->request_head.assign(output.scratch, start);
  current().replayable = head.framing == Framing::kNone && is_idempotent(head.method);
  set_phase(Phase::kConnecting);
  connect_backend();
  return !closing_ && phase_ != Phase::kClosingAfterSend;
}

// ---- the response ----

void HttpSession::pump_response() {
  PendingOutput& output = exchange_->output[kClient];
  if (output.sending) return;
  http::Parser& parser = exchange_->response;
  while (!current().response_done && phase_ != Phase::kTunnel) {
    const std::string_view input = pending(kBackend);
    if (input.empty() && !parser.head_done()) break;
    size_t consumed = 0;
    const ParseEvent event = parser.parse(input, consumed);
    consume(kBackend, consumed);
    if (event == ParseEvent::kNeedMore) {
      if (consumed < input.size()) stash_unparsed(kBackend);
      break;
    }
    if (event == ParseEvent::kError) {
      current().attempt.outcome = health::Outcome::kReset;
      if (current().response_started) return close_now("bad response body from backend");
      return fail(502, parser.error().reason);
    }
    if (event == ParseEvent::kHead) {
      on_response_head();
      if (closing_ || phase_ == Phase::kClosingAfterSend) return;
    } else if (event == ParseEvent::kBody) {
      add_body(kClient, parser.body(), current().to_client_framing);
    } else if (event == ParseEvent::kDone) {
      if (current().interim_response) {
        current().interim_response = false;
        parser.reset();
        parser.expect_no_body(exchange_->request.head().method == "HEAD");
        continue;
      }
      if (current().to_client_framing == Framing::kChunked) output.add_scratch(http::kLastChunk);
      current().response_done = true;
    }
  }
  if (!output.empty()) return send_output(kClient);
  if (phase_ == Phase::kTunnel) return pump_tunnel(kBackend);
  if (current().response_done) return finish_exchange();
  release_consumed_input(kBackend);
  if (start_response_splice()) return;
  arm_receive(kBackend);
}

void HttpSession::on_response_head() {
  if (role_ == Role::kH2Stream) return stream_response_head();
  const http::Head& head = exchange_->response.head();
  const http::Head& request = exchange_->request.head();
  PendingOutput& output = exchange_->output[kClient];
  const size_t start = output.scratch.size();
  current().status = head.status;
  if (head.status == 101) {
    if (!request.upgrade_websocket || !head.upgrade_websocket) {
      return fail(502, "backend switched protocols without a websocket upgrade");
    }
    http::append_response_head(head, Framing::kNone, true, request.version, output.scratch);
    output.add_scratch_from(start);
    current().response_started = true;
    current().backend_keep_alive = false;
    set_phase(Phase::kTunnel);
    pump_tunnel(kClient);
    return;
  }
  if (head.status < 200) {
    current().interim_response = true;
    if (request.version == 10) return;  // HTTP/1.0 clients get no 1xx (RFC 9110 §15.2)
    http::append_response_head(head, Framing::kNone, true, request.version, output.scratch);
    output.add_scratch_from(start);
    return;
  }
  current().response_head_at = ctx_->now;
  backend_state().on_response_status(head.status);  // passive health counts runs of 5xx
  current().to_client_framing = head.framing;
  if (head.framing == Framing::kChunked || head.framing == Framing::kUntilClose) {
    current().to_client_framing = request.version == 11 ? Framing::kChunked : Framing::kUntilClose;
  }
  current().backend_keep_alive = head.keep_alive && head.framing != Framing::kUntilClose;
  // A response that arrives before the request was read whole ends the client connection.
  client_keep_alive_ = client_keep_alive_ && current().request_done && !client_eof_ &&
                       current().to_client_framing != Framing::kUntilClose;
  http::append_response_head(head, current().to_client_framing, client_keep_alive_, request.version,
                             output.scratch);
  output.add_scratch_from(start);
  current().response_started = true;
  set_phase(Phase::kResponding);
}

void HttpSession::on_response_done() {
  if (current().to_client_framing == Framing::kChunked) {
    exchange_->output[kClient].add_scratch(http::kLastChunk);
  }
  current().response_done = true;
  if (!exchange_->output[kClient].empty()) return send_output(kClient);
  finish_exchange();
}

// ---- ending a request ----

void HttpSession::finish_exchange() {
  log_access();
  const bool backend_idle = current().request_done && !exchange_->output[kBackend].sending &&
                            !receiving_[kBackend] && pending(kBackend).empty() &&
                            !current().backend_overran &&
                            (!tls_[kBackend] || tls_[kBackend]->flushed());
  current().attempt.finish(health::Outcome::kSuccess);
  if (backend_fd_ >= 0 && backend_idle) {
    // A connection that began with this client's PROXY header is never another client's
    // (docs/choices.md): it is not pooled.
    if (current().backend_keep_alive &&
        pool_config().send_proxy_protocol == config::ProxyProtocolSend::kOff) {
      ctx_->upstreams.put(current().attempt.shared_state(), backend_fd_,
                          ctx_->now + pool_config().timeouts.idle, std::move(tls_[kBackend]));
      backend_fd_ = -1;
    } else {
      close_fd(backend_fd_);
      tls_[kBackend].reset();
    }
  }
  if (role_ == Role::kH2Stream) {
    end_stream_response();
    return close_now("done");
  }
  if (!client_keep_alive_ || client_eof_ || backend_fd_ >= 0) return close_now("done");
  reset_request_state();
  if (!pending(kClient).empty()) {  // a pipelined request is already here
    current().request_started = ctx_->now;
    set_phase(Phase::kReadingHead);
    return pump_request();
  }
  wait_for_next_request();
}

void HttpSession::reset_request_state() {
  exchange_->request.reset();
  exchange_->response.reset();
  exchange_->request_head.clear();
  exchange_->state = RequestState();
}

void HttpSession::fail(unsigned status, const char* reason) {
  if (exchange_ == nullptr) return close_now(reason);  // never: a failure belongs to a request
  if (role_ == Role::kH2Stream) return fail_stream(status, reason);
  current().status = status;
  current().end_cause = reason;
  LOG_INFO("listener %s: %u for client %s: %s", listener_->config->name.c_str(), status, client_ip_,
           reason);
  if (current().response_started || exchange_->output[kClient].sending) return close_now(reason);
  request_splice_.stop();  // a body half spliced ends here; what is in flight just completes
  PendingOutput& output = exchange_->output[kClient];
  output.clear();
  const size_t start = output.scratch.size();
  http::append_error_response(status, output.scratch);
  output.add_scratch_from(start);
  current().response_started = true;
  log_access();
  set_phase(Phase::kClosingAfterSend);
  send_output(kClient);
}

void HttpSession::close_now(const char* cause, bool graceful) {
  if (closing_) return;
  if (role_ == Role::kH2Connection) close_h2_streams(cause);
  if (graceful && !linger_.active()) linger_wanted_ = linger_fits();
  if (graceful && close_tls_gracefully(cause)) return;
  if (role_ == Role::kH2Stream) reset_stream_if_unfinished();
  if (exchange_ && phase_ != Phase::kIdle && role_ != Role::kH2Connection) {
    if (current().end_cause[0] == '\0') current().end_cause = cause;
    log_access();
  }
  if (std::exchange(linger_wanted_, false) && begin_linger(cause)) return;
  cancel_all({client_fd_, backend_fd_});
  // An h2 connection and its streams close each other, from inside each other's calls: the
  // worker frees the one so closed once that call is over.
  if (role_ != Role::kHttp1) ctx_->closed_by_another.push_back({tag_.slot, tag_.generation});
}

void HttpSession::drop_input(Side from) {
  if (!exchange_) return;
  PendingInput& input = exchange_->input[from];
  input.buffer.reset();
  input.offset = input.length = 0;
  input.stash.clear();
  input.stash_offset = 0;
}

void HttpSession::release() {
  if (role_ == Role::kH2Stream) release_stream();
  return_exchange();
  client_receive_.drop_arrivals(ctx_->buffers);
  request_splice_.release_pipe();  // nothing is in flight; a pipe holding bytes closes
  response_splice_.release_pipe();
  close_fd(client_fd_);
  close_fd(backend_fd_);
  for (auto& tls : tls_) tls.reset();  // nothing is in flight: no send points into a channel
  if (role_ == Role::kH2Connection) listener_stats().h2_active_down.add();
  if (is_connection_) listener_stats().active_down.add();
  h2_.reset();  // after the exchange: no send points into the codec's output any more
  stream_.reset();
  snapshot_.reset();
}

}  // namespace ringlb
