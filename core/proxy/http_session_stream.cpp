// HttpSession in the HTTP/2 stream role: one request of an h2 connection, in a slot of its own.
// Its client side is the connection's codec, not a socket: the request head arrives written as
// HTTP/1.1 (h2_translate.hpp) and goes through the same parser, routing, retries and backend code
// as any HTTP/1.1 request; the response goes back as HEADERS and DATA through the codec.
// Backpressure both ways: request body is handed back to the client's window only once the
// backend has taken it, and response body is offered to the codec only as its queue has room
// (which drains as the client's window opens), so neither side buffers without bound.
#include <cstring>

#include "core/base/log.hpp"
#include "core/http/h2_translate.hpp"
#include "core/http/http_serializer.hpp"
#include "core/io/proxy_header_send.hpp"
#include "core/proxy/http_session.hpp"

namespace ringlb {
namespace {

constexpr uint32_t kInternalError = 0x2;
constexpr uint32_t kCancel = 0x8;

// A gRPC client reads the status from grpc-status, not from HTTP's (spec.md, "HTTP/2"): 14 is
// UNAVAILABLE (no backend could take it), 4 DEADLINE_EXCEEDED (the backend did not answer).
const char* grpc_status_for(unsigned status) { return status == 504 ? "4" : "14"; }

}  // namespace

void HttpSession::start_stream(WorkerContext& ctx, OpTag tag, HttpSession& connection,
                               http::StreamId id, const http::H2Request& request) {
  bind(ctx, tag);
  is_connection_ = false;
  role_ = Role::kH2Stream;
  snapshot_ = connection.snapshot_;
  listener_ = connection.listener_;
  client_address_ = connection.client_address_;
  read_local_address(connection.client_fd_, connection.local_address_);  // once per connection
  local_address_ = connection.local_address_;
  std::memcpy(client_ip_, connection.client_ip_, sizeof(client_ip_));
  last_activity_ = ctx.now;
  stream_ = std::make_unique<H2StreamLink>();
  stream_->connection = {connection.tag_.slot, connection.tag_.generation};
  stream_->id = id;
  stream_->body_framing = request.head.framing;
  stream_->body_length = request.head.content_length;
  stream_->grpc = request.head.find("content-type").starts_with("application/grpc");
  exchange_ = ctx_->exchanges.acquire();
  exchange_->request.set_limits(request_limits());
  http::append_http1_request(request, exchange_->input[kClient].stash);
  current().request_started = ctx.now;
  set_phase(Phase::kReadingHead);
}

HttpSession* HttpSession::stream_connection() const {
  HttpSession* connection = ctx_->slots->find_http(stream_->connection);
  if (connection == nullptr || connection->closing_ || connection->h2_->closing_streams) {
    return nullptr;
  }
  return connection;
}

void HttpSession::begin_stream() {
  stream_->began = true;
  pump_request();
}

// ---- the request body ----

void HttpSession::on_stream_body(std::span<const char> bytes) {
  stream_->body_received += bytes.size();
  stream_->body_in_inbox += bytes.size();
  current().bytes_from_client += bytes.size();
  http::append_http1_body(stream_->body_framing, bytes, stream_->inbox);
  if (receiving_[kClient]) deliver_stream_body();
}

void HttpSession::on_stream_end() {
  stream_->inbox_end = true;
  http::append_http1_body_end(stream_->body_framing, stream_->inbox);
  if (receiving_[kClient]) deliver_stream_body();
}

// The parser asked for more (arm_receive): what the inbox holds becomes its input, as a
// receive's bytes would.
//
// The last byte of a declared length waits for END_STREAM: only then has nghttp2 checked that
// the DATA matched content-length (RFC 9113 §8.1.1), and a backend must never see a complete
// request whose stream is then reset for sending more (the H2.CL desync class).
void HttpSession::deliver_stream_body() {
  const bool hold_last = stream_->body_framing == http::Framing::kContentLength &&
                         !stream_->inbox_end && stream_->body_received >= stream_->body_length;
  const size_t held = hold_last && !stream_->inbox.empty() ? 1 : 0;
  if (stream_->inbox.size() <= held) return;
  receiving_[kClient] = false;
  last_activity_ = ctx_->now;
  PendingInput& input = exchange_->input[kClient];
  input.stash.erase(0, input.stash_offset);
  input.stash_offset = 0;
  input.stash.append(stream_->inbox, 0, stream_->inbox.size() - held);
  stream_->inbox.erase(0, stream_->inbox.size() - held);
  stream_->body_in_inbox = held;
  pump(kClient);
}

// What the parser has taken went to the backend already (arm_receive comes after the send), so
// the client may send that much more.
void HttpSession::credit_stream_window() {
  const uint64_t taken = stream_->body_received - stream_->body_in_inbox;
  const uint64_t owed = taken - stream_->body_credited;
  if (owed == 0) return;
  HttpSession* connection = stream_connection();
  if (connection == nullptr) return;
  stream_->body_credited = taken;
  connection->h2_->codec.consume(stream_->id, owed);
  connection->flush_h2();
}

// ---- the response ----

void HttpSession::stream_response_head() {
  const http::Head& head = exchange_->response.head();
  const http::Head& request = exchange_->request.head();
  current().status = head.status;
  if (head.status == 101) return fail(502, "backend switched protocols on an h2 stream");
  if (head.status < 200) {  // interim responses are not relayed on h2 (docs/configuration.md)
    current().interim_response = true;
    return;
  }
  current().response_head_at = ctx_->now;
  backend_state().on_response_status(head.status);
  current().to_client_framing = http::Framing::kContentLength;  // DATA frames carry raw bytes
  current().backend_keep_alive = head.keep_alive && head.framing != http::Framing::kUntilClose;
  HttpSession* connection = stream_connection();
  if (connection == nullptr) return close_now("client connection gone");
  http::h2_response_fields(head, stream_->response_fields, stream_->response_storage);
  const bool body = http::h2_response_has_body(head, request.method);
  connection->h2_->codec.submit_response(stream_->id, head.status, stream_->response_fields, body);
  if (!body) stream_->end_sent = true;
  current().response_started = true;
  set_phase(Phase::kResponding);
  connection->flush_h2();
}

// Offers the plan's bytes to the codec's queue for this stream. What it cannot take yet waits,
// copied out of any provided buffer, until on_stream_room.
void HttpSession::offer_stream_body() {
  PendingOutput& output = exchange_->output[kClient];
  HttpSession* connection = stream_connection();
  if (connection == nullptr) return close_now("client connection gone");
  if (!output.sending) output.lay_out_pieces();
  output.sending = false;
  http::H2Connection& codec = connection->h2_->codec;
  size_t offered = 0;
  while (output.piece_offset < output.pieces.size()) {
    iovec& piece = output.pieces[output.piece_offset];
    const size_t taken =
        stream_->end_sent
            ? piece.iov_len
            : codec.submit_body(stream_->id,
                                {static_cast<const char*>(piece.iov_base), piece.iov_len});
    offered += taken;
    if (taken < piece.iov_len) {
      piece.iov_base = static_cast<char*>(piece.iov_base) + taken;
      piece.iov_len -= taken;
      break;
    }
    ++output.piece_offset;
  }
  current().bytes_to_client += offered;
  if (offered > 0) last_activity_ = ctx_->now;
  const bool all_taken = output.piece_offset == output.pieces.size();
  // The last bytes wait for end_stream_response(), which follows at once and flushes: they then
  // leave in a DATA frame with END_STREAM, not one before an empty END_STREAM frame that a
  // stream window used up to the last byte would hold back until the client opens it again.
  // Waiting for room is marked before the flush, whose framing may already make that room.
  if (!all_taken) output.sending = true;
  if (!(all_taken && current().response_done)) connection->flush_h2();
  if (!all_taken) {  // waits for on_stream_room
    if (output.sending && exchange_->input[kBackend].buffer) spill_unsent(kClient);
    return;
  }
  on_output_sent(kClient);
}

void HttpSession::on_stream_room() {
  if (exchange_ && exchange_->output[kClient].sending) offer_stream_body();
}

void HttpSession::end_stream_response() {
  if (stream_->end_sent) return;
  HttpSession* connection = stream_connection();
  if (connection == nullptr) return;
  stream_->end_sent = true;
  connection->h2_->codec.end_stream(stream_->id, exchange_->response.trailers());
  connection->flush_h2();
}

// The proxy's own answer: a short text body, or for gRPC a trailers-only response that says
// why in grpc-status. After a response has started, the stream can only be reset.
void HttpSession::fail_stream(unsigned status, const char* reason) {
  current().status = status;
  current().end_cause = reason;
  LOG_INFO("listener %s: %u for client %s (h2 stream %d): %s", listener_->config->name.c_str(),
           status, client_ip_, stream_->id, reason);
  HttpSession* connection = stream_connection();
  if (current().response_started || connection == nullptr) return close_now(reason);
  http::H2Connection& codec = connection->h2_->codec;
  current().response_started = true;
  stream_->end_sent = true;
  if (stream_->grpc) {
    const http::Field fields[] = {{"content-type", "application/grpc"},
                                  {"grpc-status", grpc_status_for(status)},
                                  {"grpc-message", reason}};
    current().status = 200;
    codec.submit_response(stream_->id, 200, fields, false);
  } else {
    const std::string_view text = http::reason_phrase(status);
    const http::Field fields[] = {{"content-type", "text/plain"}};
    codec.submit_response(stream_->id, status, fields, true);
    codec.submit_body(stream_->id, text);
    codec.submit_body(stream_->id, std::string_view("\n"));  // a literal would bring its NUL
    codec.end_stream(stream_->id, {});
    current().bytes_to_client += text.size() + 1;
  }
  connection->flush_h2();
  log_access();
  close_now(reason);
}

// ---- the end ----

void HttpSession::on_stream_closed(uint32_t error_code) {
  stream_->ended_by_codec = true;
  // Closed with NO_ERROR before the response was ended: the client's RST_STREAM(NO_ERROR),
  // which stops the stream as any other reset does (RFC 9113 §6.4).
  if (error_code == 0 && stream_->end_sent) return;  // the response went out whole
  current().end_cause = error_code == kCancel ? "client reset" : "stream reset";
  current().attempt.outcome = health::Outcome::kSuccess;  // not the backend's fault
  close_now(current().end_cause, false);
}

void HttpSession::reset_stream_if_unfinished() {
  // end_sent: the codec holds the whole response, ringlb's own answers included, and frames it
  // even after this session is gone (while the connection is busy sending, it is still queued).
  if (stream_->ended_by_codec || stream_->end_sent) return;
  HttpSession* connection = stream_connection();
  if (connection == nullptr) return;
  connection->h2_->codec.reset_stream(stream_->id, kInternalError);
  stream_->ended_by_codec = true;
  connection->flush_h2();
}

void HttpSession::release_stream() {
  // The connection's window counts every DATA byte, taken by the backend or not.
  const uint64_t uncredited = stream_->body_received - stream_->body_credited;
  HttpSession* connection = ctx_->slots->find_http(stream_->connection);
  if (connection != nullptr) connection->on_stream_released(stream_->id, uncredited);
}

}  // namespace ringlb
