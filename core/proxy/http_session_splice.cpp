// Bodies by splice (RINGLB_LEVER_L7_SPLICE, docs/perf2-plan.md 2.3): once a plain HTTP/1.1 head
// and the body bytes that came with it have gone out, the rest of a Content-Length body moves
// through a pipe from the worker's pool, exactly that many bytes: a request's client → backend,
// a response's backend → client. Whatever the sender sends after them stays in its socket, for
// the parser: the client's next pipelined request, or bytes a backend sent past its response.
// Such bytes already there when a response body ends are treated as bytes left over in a copied
// body's last receive (the backend connection is not pooled, the client connection ends after
// the response); bytes that come later are found when the pooled connection is next taken
// (check_pooled_connection), as without splice. The parser is told the body went by
// (Parser::skip_rest_of_body) and the exchange goes on as after a copied body, so keep-alive,
// pooling, pipelining, timeouts and logging are the same. A pump keeps its pipe until the body
// ends: the parser cannot take over a body half spliced.
#include <sys/ioctl.h>

#include <cstring>

#include "core/base/log.hpp"
#include "core/proxy/http_session.hpp"

namespace ringlb {

// Plain HTTP/1.1 on both sockets and the lever on. A client socket with a multishot receive
// armed is left alone: that receive would take the body's bytes too.
bool HttpSession::splice_allowed() const {
  const Tuning& tuning = ctx_->tuning;
  return tuning.l7_splice && tuning.splice != Tuning::Splice::kOff && role_ == Role::kHttp1 &&
         !tls_[kClient] && !tls_[kBackend] && !client_multishot_ && backend_fd_ >= 0;
}

bool HttpSession::start_request_splice() {
  if (!splice_allowed() || phase_ != Phase::kForwarding || current().request_done) return false;
  const PendingInput& input = exchange_->input[kClient];
  const PendingOutput& output = exchange_->output[kBackend];
  if (input.buffer || !input.stash.empty() || receiving_[kClient] || !output.empty() ||
      output.sending || current().to_backend_framing != http::Framing::kContentLength) {
    return false;
  }
  const uint64_t left = exchange_->request.body_remaining();
  if (left == 0 || left < ctx_->tuning.l7_splice_min_bytes) return false;
  PipeLease pipe = ctx_->pipes.take();
  if (!pipe) return false;  // the pool is exhausted: copy
  const SplicePump::Ends ends{client_fd_, backend_fd_, OpKind::kSpliceFromClient,
                              OpKind::kSpliceToBackend};
  after_request_splice_turn(
      request_splice_.start(*this, *ctx_, std::move(pipe), ends, left, false));
  return true;
}

bool HttpSession::start_response_splice() {
  if (!splice_allowed() || phase_ != Phase::kResponding) return false;
  const RequestState& request = current();
  const PendingInput& input = exchange_->input[kBackend];
  const PendingOutput& output = exchange_->output[kClient];
  // The request went whole (the backend socket carries nothing else); nothing received is
  // waiting to be parsed; nothing is on its way to the client ahead of the body.
  if (!request.request_done || input.buffer || !input.stash.empty() || receiving_[kBackend] ||
      !output.empty() || output.sending ||
      request.to_client_framing != http::Framing::kContentLength) {
    return false;
  }
  const uint64_t left = exchange_->response.body_remaining();
  if (left == 0 || left < ctx_->tuning.l7_splice_min_bytes) return false;
  PipeLease pipe = ctx_->pipes.take();
  if (!pipe) return false;
  const SplicePump::Ends ends{backend_fd_, client_fd_, OpKind::kSpliceFromBackend,
                              OpKind::kSpliceToClient};
  after_response_splice_turn(
      response_splice_.start(*this, *ctx_, std::move(pipe), ends, left, false));
  return true;
}

void HttpSession::after_request_splice_turn(SplicePump::Turn turn) {
  switch (turn) {
    case SplicePump::Turn::kWaiting:
      return;
    case SplicePump::Turn::kNextTurn:
      return hand_over_next_turn(OpKind::kRecvClient);
    case SplicePump::Turn::kDone:
      if (request_splice_.source_ended()) break;  // the client closed short of Content-Length
      exchange_->request.skip_rest_of_body();
      return pump_request();          // the parser's kDone completes the request
    case SplicePump::Turn::kStopped:  // never: the pump keeps its pipe (may_stop false)
    case SplicePump::Turn::kFailed:
      break;
  }
  if (request_splice_.source_ended() || request_splice_.failed_at_source()) {
    client_eof_ = true;  // as a receive's FIN or error (on_receive_end)
    return close_now(request_splice_.source_ended() ? "client closed early" : "client error");
  }
  LOG_DEBUG("request body splice to the backend: %s", std::strerror(request_splice_.error()));
  on_send_failed(kBackend, -request_splice_.error());  // a body is never sent again: a 502
}

void HttpSession::after_response_splice_turn(SplicePump::Turn turn) {
  switch (turn) {
    case SplicePump::Turn::kWaiting:
      return;
    case SplicePump::Turn::kNextTurn:
      return hand_over_next_turn(OpKind::kRecvBackend);
    case SplicePump::Turn::kDone:
      if (response_splice_.source_ended()) break;  // the backend closed short of Content-Length
      exchange_->response.skip_rest_of_body();
      current().backend_overran = backend_bytes_waiting();
      return pump_response();  // the parser's kDone ends the exchange
    case SplicePump::Turn::kStopped:
    case SplicePump::Turn::kFailed:
      break;
  }
  const bool backend = response_splice_.source_ended() || response_splice_.failed_at_source();
  if (!response_splice_.source_ended()) {
    LOG_DEBUG("response body splice %s: %s", backend ? "from the backend" : "to the client",
              std::strerror(response_splice_.error()));
  }
  if (!backend) return close_now("client error", false);
  current().attempt.outcome = health::Outcome::kReset;
  // The client has fewer bytes than the head announced: the connection closes, never ends the
  // response as if complete (the same as a copied body cut short).
  close_now(response_splice_.source_ended() ? "backend closed mid-response"
                                            : "backend reset mid-response");
}

// What a copied body's last receive would have shown: bytes after the body. One ioctl per
// spliced body (at least l7_splice_min_bytes).
bool HttpSession::backend_bytes_waiting() const {
  int queued = 0;
  return ioctl(backend_fd_, FIONREAD, &queued) == 0 && queued > 0;
}

void HttpSession::on_body_splice_completion(OpKind kind, int result) {
  const bool request = kind == OpKind::kSpliceFromClient || kind == OpKind::kSpliceToBackend;
  SplicePump& pump = request ? request_splice_ : response_splice_;
  if (closing_) return pump.stop();
  const bool source = kind == OpKind::kSpliceFromClient || kind == OpKind::kSpliceFromBackend;
  const SplicePump::Turn turn = pump.on_completion(source, result);
  request ? after_request_splice_turn(turn) : after_response_splice_turn(turn);
}

bool HttpSession::resume_body_splice(OpKind kind) {
  SplicePump& pump = kind == OpKind::kRecvClient ? request_splice_ : response_splice_;
  if (!pump.active()) return false;
  if (closing_) return true;
  const SplicePump::Turn turn = pump.pump();
  kind == OpKind::kRecvClient ? after_request_splice_turn(turn) : after_response_splice_turn(turn);
  return true;
}

void HttpSession::on_splice_moved() {
  last_activity_ = ctx_->now;
  const uint64_t in = request_splice_.take_new_bytes();
  const uint64_t out = response_splice_.take_new_bytes();
  current().bytes_from_client += in;
  current().bytes_to_client += out;
  current().bytes_spliced += in + out;
}

}  // namespace ringlb
