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
  after_splice_turn(kClient,
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
  after_splice_turn(kBackend,
                    response_splice_.start(*this, *ctx_, std::move(pipe), ends, left, false));
  return true;
}

void HttpSession::after_splice_turn(Side from, SplicePump::Turn turn) {
  SplicePump& splice = from == kClient ? request_splice_ : response_splice_;
  switch (turn) {
    case SplicePump::Turn::kWaiting:
      return;
    case SplicePump::Turn::kNextTurn:
      return hand_over_next_turn(from == kClient ? OpKind::kRecvClient : OpKind::kRecvBackend);
    case SplicePump::Turn::kDone:
      if (splice.source_ended()) break;  // the sender closed short of Content-Length
      if (from == kBackend) current().backend_overran = backend_bytes_waiting();
      (from == kClient ? exchange_->request : exchange_->response).skip_rest_of_body();
      return pump(from);  // the parser's kDone completes the message
    // kStopped never comes: the pump keeps its pipe (may_stop false).
    case SplicePump::Turn::kStopped:
    case SplicePump::Turn::kFailed:
      break;
  }
  const bool at_source = splice.source_ended() || splice.failed_at_source();
  if (!splice.source_ended()) {
    LOG_DEBUG("%s body splice %s: %s", from == kClient ? "request" : "response",
              at_source ? "from its sender" : "to its receiver", std::strerror(splice.error()));
  }
  if (from == kClient) return on_request_splice_failed(at_source);
  if (!at_source) return close_now("client error", false);
  current().attempt.outcome = health::Outcome::kReset;
  // The client has fewer bytes than the head announced: the connection closes, never ends the
  // response as if complete (the same as a copied body cut short).
  close_now(splice.source_ended() ? "backend closed mid-response" : "backend reset mid-response");
}

// As a receive's FIN or error from the client (on_receive_end), or a failed send to the backend:
// a body is never sent again, so that is a 502 or a close (retry_policy.cpp).
void HttpSession::on_request_splice_failed(bool at_client) {
  if (!at_client) return on_send_failed(kBackend, -request_splice_.error());
  client_eof_ = true;
  close_now(request_splice_.source_ended() ? "client closed early" : "client error");
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
  after_splice_turn(request ? kClient : kBackend, pump.on_completion(source, result));
}

bool HttpSession::resume_body_splice(OpKind kind) {
  SplicePump& pump = kind == OpKind::kRecvClient ? request_splice_ : response_splice_;
  if (!pump.active()) return false;
  if (closing_) return true;
  after_splice_turn(kind == OpKind::kRecvClient ? kClient : kBackend, pump.pump());
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
