// HttpSession in the HTTP/2 connection role: the client's socket carries frames, the codec
// (core/http/h2_connection.hpp) turns them into streams, and each stream runs as an HttpSession
// of its own (http_session_stream.cpp). This role reads and writes the client socket, through
// TLS when the listener has it, with the same plumbing as HTTP/1.1; it never talks to a backend.
// Streams start only after the codec returns, and each counts against max_concurrent_streams
// until its session is gone (docs/http2-plan.md §1.4).
#include <sys/socket.h>

#include <cstring>

#include "core/base/log.hpp"
#include "core/proxy/http_session.hpp"

namespace ringlb {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr uint32_t kRefusedStream = 0x7;
constexpr uint32_t kEnhanceYourCalm = 0xb;

http::H2Settings settings_for(const config::ListenerConfig& listener) {
  http::H2Settings settings;
  const config::ListenerHttp2& http2 = listener.http2;
  settings.max_concurrent_streams = http2.max_concurrent_streams;
  settings.max_header_list_size = static_cast<uint32_t>(listener.limits.max_header_bytes);
  settings.initial_window_size = static_cast<uint32_t>(http2.initial_window);
  settings.max_resets_per_second = http2.max_resets_per_second;
  settings.max_settings_per_second = http2.max_control_frames_per_second;
  settings.max_pings_per_second = http2.max_control_frames_per_second;
  settings.max_empty_data_per_second = http2.max_empty_frames_per_second;
  return settings;
}

uint64_t milliseconds(TimerWheel::Clock::time_point at) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
}

}  // namespace

// ---- choosing the protocol ----

bool HttpSession::check_h2_preface() {
  if (h2_preface_checked_ || served_ || !listener_->config->http2.enabled || tls_[kClient]) {
    return false;
  }
  const std::string_view input = pending(kClient);
  const size_t compared = std::min(input.size(), kH2Preface.size());
  if (input.substr(0, compared) != kH2Preface.substr(0, compared)) {
    h2_preface_checked_ = true;  // HTTP/1.x (or the 505 of a preface with h2 off)
    return false;
  }
  if (compared < kH2Preface.size()) {  // a part of the preface: wait for the rest
    stash_unparsed(kClient);
    release_consumed_input(kClient);
    arm_receive(kClient);
    return true;
  }
  switch_to_h2();
  pump_h2();
  return true;
}

bool HttpSession::h2_by_alpn() const {
  return role_ == Role::kHttp1 && !served_ && phase_ == Phase::kIdle &&
         listener_->config->http2.enabled && tls_[kClient]->alpn() == "h2";
}

void HttpSession::switch_to_h2() {
  role_ = Role::kH2Connection;
  h2_ = std::make_unique<H2ClientConnection>(*this, settings_for(*listener_->config));
  listener_stats().h2_connections.add();
  listener_stats().h2_active_up.add();
  set_phase(Phase::kH2);
}

// ---- the flow ----

void HttpSession::pump_h2() {
  if (closing_ || close_when_flushed_.armed()) return;
  H2ClientConnection& h2 = *h2_;
  const std::string_view input = pending(kClient);
  if (!input.empty() && h2.broken == nullptr) {
    const bool block_was_open = h2.codec.header_block_open();
    h2.in_codec = true;
    const http::H2Error error = h2.codec.receive(input, milliseconds(ctx_->now));
    h2.in_codec = false;
    if (!block_was_open && h2.codec.header_block_open()) {
      h2.header_block_since = ctx_->now;
      if (h2.streams.empty()) ctx_->timers.schedule(timer_, h2_deadline());
    }
    consume(kClient, input.size());
    // A lingering client still talks (a WINDOW_UPDATE as it reads): it is still reading.
    if (h2.linger.active()) h2.linger.heard(ctx_->now);
    if (!error.ok()) {
      h2.broken = error.reason;
      LOG_DEBUG("listener %s: h2 client %s: %s", listener_->config->name.c_str(), client_ip_,
                error.reason);
    }
    begin_new_streams();
    // A drain that came before this connection chose h2 (a reload during its handshake or
    // before its preface): the streams of this first read are served, later ones are not.
    if (draining_ && !h2.goaway_sent) drain_h2();
  }
  release_consumed_input(kClient);
  flush_h2();
  if (!closing_ && h2.broken == nullptr) arm_receive(kClient);
}

// The end of a graceful close (docs/http2-plan.md §2.5): the write side is shut, so the client
// sees the end of the stream after the last frame, and what it still sends is read (and given
// to the codec, which ignores it after GOAWAY) until it closes, or until it has been silent for
// Linger::kQuiet with every byte acknowledged, Linger::kMax at most (core/proxy/linger.hpp).
void HttpSession::linger_h2(const char* cause) {
  H2ClientConnection& h2 = *h2_;
  if (h2.linger.active()) return;
  h2.linger.begin(cause, ctx_->now);
  ctx_->timers.schedule(timer_, h2.linger.until());
  if (!tls_[kClient]) {  // a TLS client gets close_notify when the linger ends (close_now)
    io_uring_sqe* sqe = ctx_->ring.sqe();
    io_uring_prep_shutdown(sqe, client_fd_, SHUT_WR);
    submit(sqe, OpKind::kShutdownClient);
  }
}

// A client's FIN ends its streams too, as nginx does: were they kept, a client could start a
// hundred streams on slow backends, leave, and start again, holding backend work it no longer
// waits for (HTTP/1.1 has one request; h2 has max_concurrent_streams of them).
void HttpSession::on_h2_client_end(int result) {
  const char* lingering = h2_->linger.cause();
  close_now(lingering != nullptr ? lingering : result < 0 ? "client error" : "client closed");
}

void HttpSession::begin_new_streams() {
  H2ClientConnection& h2 = *h2_;
  for (size_t i = 0; i < h2.to_begin.size(); ++i) {
    if (h2.broken != nullptr) break;
    HttpSession* stream = h2.find(h2.to_begin[i]);
    if (stream != nullptr && !stream->closing_) stream->begin_stream();
  }
  h2.to_begin.clear();
}

void HttpSession::flush_h2() {
  if (closing_ || close_when_flushed_.armed()) return;
  H2ClientConnection& h2 = *h2_;
  if (h2.in_codec) {
    h2.flush_wanted = true;
    return;
  }
  PendingOutput& output = exchange_->output[kClient];
  if (output.sending) return;  // on_h2_output_sent flushes again
  do {
    h2.flush_wanted = false;
    h2.in_codec = true;
    const std::span<const char> framed = h2.codec.pending_output();
    h2.in_codec = false;
    if (!framed.empty()) {
      // The codec keeps these bytes until the next pending_output(), which waits for this send.
      output.clear();
      output.plan.push_back({framed.data(), 0, framed.size()});
      h2.codec.consume_output(framed.size());
      return send_output(kClient);
    }
  } while (h2.flush_wanted);
  // Nothing left to send: a broken connection, or one both sides are done with, ends here.
  if (h2.broken != nullptr) return close_now(h2.broken);
  if (h2.codec.finished() && h2.codec.flood_reason() != nullptr) {  // a flood seen in sending
    h2.broken = h2.codec.flood_reason();
    return close_now(h2.broken);
  }
  // Both sides done: nghttp2 has no stream left and nothing to send (after our GOAWAY, or the
  // client's), and no stream session is still finishing.
  if (h2.streams.empty() && h2.codec.finished()) linger_h2(draining_ ? "draining" : "done");
}

void HttpSession::on_h2_output_sent() {
  exchange_->output[kClient].clear();
  flush_h2();
}

// ---- streams ----

void H2ClientConnection::on_goaway_sent(uint32_t error_code) {
  health::ListenerWorkerStats& stats = session.listener_stats();
  if (error_code == 0) {
    stats.h2_goaway_drain.add();
  } else if (error_code == kEnhanceYourCalm) {
    stats.h2_goaway_flood.add();
  } else {
    stats.h2_goaway_protocol.add();
  }
}

void HttpSession::on_stream_released(http::StreamId id, uint64_t uncredited) {
  H2ClientConnection& h2 = *h2_;
  std::erase_if(h2.streams, [id](const H2ClientConnection::Stream& s) { return s.id == id; });
  if (closing_ || close_when_flushed_.armed()) return;
  if (uncredited > 0) h2.codec.consume(id, uncredited);
  if (h2.streams.empty()) ctx_->timers.schedule(timer_, h2_deadline());
  flush_h2();
}

void HttpSession::close_h2_streams(const char* cause) {
  // Aborting a stream does not touch this list (a stream leaves it when released).
  h2_->closing_streams = true;
  for (const H2ClientConnection::Stream& entry : h2_->streams) {
    HttpSession* stream = ctx_->slots->find_http(entry.session);
    if (stream == nullptr || stream->closing_) continue;
    stream->abort(cause);
  }
}

// ---- timers and draining ----

// With streams open, each stream keeps its own time; with none, the connection waits for the
// first one, and for a header block once begun, under the header timeout, and for a next stream
// under the idle timeout.
TimerWheel::Clock::time_point HttpSession::h2_deadline() const {
  const config::ListenerTimeouts& timeouts = listener_->config->timeouts;
  if (h2_->linger.active()) return h2_->linger.until();
  if (!h2_->ever_had_stream) return phase_since_ + timeouts.header;
  if (h2_->codec.header_block_open()) return h2_->header_block_since + timeouts.header;
  return last_activity_ + timeouts.client_idle;
}

void HttpSession::on_h2_timer() {
  if (h2_->linger.active()) return on_h2_linger_timer();
  if (!h2_->streams.empty()) {
    ctx_->timers.schedule(timer_, ctx_->now + listener_->config->timeouts.client_idle);
    return;
  }
  if (!h2_->ever_had_stream || h2_->codec.header_block_open()) {
    return close_now("h2 request head not complete within the header timeout");
  }
  close_now("client idle timeout");
}

// The client said nothing for Linger::kQuiet: the connection ends, unless bytes it has not
// acknowledged yet are still on their way to it (Linger::still_unread).
void HttpSession::on_h2_linger_timer() {
  Linger& linger = h2_->linger;
  if (linger.still_unread(client_fd_, ctx_->now)) {
    ctx_->timers.schedule(timer_, linger.until());
    return;
  }
  close_now(linger.cause());
}

// GOAWAY with the last stream the client opened: those finish, later ones are not processed
// (the client retries them elsewhere, RFC 9113 §6.8). With none open, the connection ends as
// soon as the GOAWAY has gone out.
bool HttpSession::drain_h2() {
  H2ClientConnection& h2 = *h2_;
  if (h2.goaway_sent || h2.broken != nullptr) return false;
  h2.goaway_sent = true;
  h2.codec.goaway(h2.codec.last_client_stream(), 0);
  flush_h2();
  return closing_;
}

// ---- the codec's events ----

HttpSession* H2ClientConnection::find(http::StreamId id) {
  for (const Stream& stream : streams) {
    if (stream.id == id) return session.ctx_->slots->find_http(stream.session);
  }
  return nullptr;
}

void H2ClientConnection::on_request_head(http::StreamId id, const http::H2Request& request) {
  health::ListenerWorkerStats& stats = session.listener_stats();
  if (goaway_sent || streams.size() >= session.listener_->config->http2.max_concurrent_streams) {
    stats.h2_streams_refused.add();
    codec.reset_stream(id, kRefusedStream);
    return;
  }
  SlotHandle handle;
  HttpSession& stream = session.ctx_->slots->emplace_stream(handle);
  streams.push_back({id, handle});
  ever_had_stream = true;
  stats.h2_streams.add();
  stream.start_stream(*session.ctx_, OpTag{OpKind::kIgnore, handle.slot, handle.generation},
                      session, id, request);
  to_begin.push_back(id);
}

void H2ClientConnection::on_request_body(http::StreamId id, std::span<const char> bytes) {
  HttpSession* stream = find(id);
  if (stream == nullptr || stream->closing_) {
    codec.consume(id, bytes.size());  // nobody takes them: the window must not shrink for it
    return;
  }
  stream->on_stream_body(bytes);
}

void H2ClientConnection::on_request_end(http::StreamId id) {
  HttpSession* stream = find(id);
  if (stream != nullptr && !stream->closing_) stream->on_stream_end();
}

void H2ClientConnection::on_stream_closed(http::StreamId id, uint32_t error_code) {
  HttpSession* stream = find(id);
  // One this side reset itself (ended_by_codec) is closing already: not a client's reset.
  if (stream == nullptr || stream->closing_ || stream->stream_->ended_by_codec) return;
  if (error_code != 0) session.listener_stats().h2_streams_reset_by_client.add();
  stream->on_stream_closed(error_code);
}

void H2ClientConnection::on_goaway(http::StreamId, uint32_t) {}

void H2ClientConnection::on_response_room(http::StreamId id) {
  HttpSession* stream = find(id);
  if (stream != nullptr && !stream->closing_) stream->on_stream_room();
}

}  // namespace ringlb
