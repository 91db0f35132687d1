// A response body by splice (RINGLB_LEVER_L7_SPLICE, docs/perf2-plan.md 2.3): once a plain
// HTTP/1.1 response head and the body bytes that came with it have gone out, the rest of a
// Content-Length body moves backend → client through a pipe from the worker's pool, exactly
// that many bytes: whatever the backend sends after them stays in its socket, where it is no
// part of this response. Bytes already there when the body ends are treated as bytes left over
// in a copied body's last receive (the backend connection is not pooled, the client connection
// ends after the response); bytes that come later are found when the pooled connection is next
// taken (check_pooled_connection), as without splice. The parser is told the body went by
// (Parser::skip_rest_of_body) and the exchange ends as a copied one does, so keep-alive, pooling,
// pipelining and logging are the same. The pipe is kept until the body ends: the parser cannot take
// over a body half spliced.
#include <sys/ioctl.h>

#include <cstring>

#include "core/base/log.hpp"
#include "core/proxy/http_session.hpp"

namespace ringlb {

bool HttpSession::start_body_splice() {
  const Tuning& tuning = ctx_->tuning;
  if (!tuning.l7_splice || tuning.splice == Tuning::Splice::kOff) return false;
  if (role_ != Role::kHttp1 || tls_[kClient] || tls_[kBackend] || phase_ != Phase::kResponding) {
    return false;
  }
  const RequestState& request = current();
  const PendingInput& input = exchange_->input[kBackend];
  // The request went whole (the backend socket carries nothing else); nothing received is
  // waiting to be parsed; nothing is on its way to the client ahead of the body.
  if (!request.request_done || input.buffer || !input.stash.empty() || receiving_[kBackend] ||
      !exchange_->output[kClient].empty() || exchange_->output[kClient].sending) {
    return false;
  }
  const http::Parser& parser = exchange_->response;
  if (request.to_client_framing != http::Framing::kContentLength) return false;
  const uint64_t left = parser.body_remaining();
  if (left == 0 || left < tuning.l7_splice_min_bytes) return false;
  PipeLease pipe = ctx_->pipes.take();
  if (!pipe) return false;  // the pool is exhausted: copy
  const SplicePump::Ends ends{backend_fd_, client_fd_, OpKind::kSpliceFromBackend,
                              OpKind::kSpliceToClient};
  after_body_splice_turn(body_splice_.start(*this, *ctx_, std::move(pipe), ends, left, false));
  return true;
}

void HttpSession::after_body_splice_turn(SplicePump::Turn turn) {
  switch (turn) {
    case SplicePump::Turn::kWaiting:
      return;
    case SplicePump::Turn::kNextTurn:
      return hand_over_next_turn(OpKind::kRecvBackend);
    case SplicePump::Turn::kDone:
      if (body_splice_.source_ended()) break;  // the backend closed short of Content-Length
      exchange_->response.skip_rest_of_body();
      current().backend_overran = backend_bytes_waiting();
      return pump_response();         // the parser's kDone ends the exchange
    case SplicePump::Turn::kStopped:  // never: the pump keeps its pipe (may_stop false)
    case SplicePump::Turn::kFailed:
      break;
  }
  const bool backend = body_splice_.source_ended() || body_splice_.failed_at_source();
  if (!body_splice_.source_ended()) {
    LOG_DEBUG("body splice %s: %s", backend ? "from the backend" : "to the client",
              std::strerror(body_splice_.error()));
  }
  if (!backend) return close_now("client error", false);
  current().attempt.outcome = health::Outcome::kReset;
  // The client has fewer bytes than the head announced: the connection closes, never ends the
  // response as if complete (the same as a copied body cut short).
  close_now(body_splice_.source_ended() ? "backend closed mid-response"
                                        : "backend reset mid-response");
}

// What a copied body's last receive would have shown: bytes after the body. One ioctl per
// spliced body (at least l7_splice_min_bytes).
bool HttpSession::backend_bytes_waiting() const {
  int queued = 0;
  return ioctl(backend_fd_, FIONREAD, &queued) == 0 && queued > 0;
}

void HttpSession::on_body_splice_completion(OpKind kind, int result) {
  if (closing_) return body_splice_.stop();
  after_body_splice_turn(body_splice_.on_completion(kind == OpKind::kSpliceFromBackend, result));
}

void HttpSession::on_splice_moved() {
  last_activity_ = ctx_->now;
  const uint64_t fresh = body_splice_.take_new_bytes();
  current().bytes_to_client += fresh;
  current().bytes_spliced += fresh;
}

}  // namespace ringlb
