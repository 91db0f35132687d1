// A sans-IO server-side HTTP/2 connection (RFC 9113) over nghttp2: bytes in through receive(),
// bytes out through pending_output()/consume_output(), so every byte still goes through the
// worker's ring (and, on TLS, the memory BIOs) as with Beast. Requests come out as plain Heads;
// responses go in as status, fields and body bytes. Nothing throws out of it, and nothing thrown
// can cross nghttp2's C callbacks because nothing in them throws. nghttp2 is PRIVATE to this room:
// only h2_connection*.cpp include it (docs/architecture.md, "The rooms").
//
// What nghttp2 checks by itself (HTTP messaging is on): uppercase field names, connection-specific
// fields (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade), a TE other than
// "trailers", CR/LF/NUL in values, missing, duplicate or late pseudo-headers, and a content-length
// that disagrees with the DATA; each resets the stream with PROTOCOL_ERROR before any event names
// it. Also SETTINGS_MAX_CONCURRENT_STREAMS: a stream over it is refused (REFUSED_STREAM).
//
// What it adds (issue 18 item 5): `:authority` and Host that disagree are answered 400 and CONNECT
// 501, before any event names the stream; split `cookie` fields are joined with "; " into one
// (RFC 9113 §8.2.3). And the flood limits of item 6 (H2Settings below).
//
// The connection-level receive window is initial_window_size × max_concurrent_streams, so one
// stalled stream cannot shut the others out (h2_connection.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/http/http_message.hpp"

namespace ringlb::http {

using StreamId = int32_t;

struct H2Settings {
  uint32_t max_concurrent_streams = 100;
  // The decoded size of one request's header block (names + values + 32 per field, RFC 9113
  // §6.5.2); over it the stream is answered 431 (§10.5.1) and no event names it.
  uint32_t max_header_list_size = 32 * 1024;
  // How much request body a client may send on one stream ahead of the backend reading it.
  uint32_t initial_window_size = 65535;
  // Response body bytes queued per stream and not yet framed; submit_body() takes no more.
  size_t max_queued_body_bytes = size_t{64} * 1024;

  // Floods (issue 18 item 6): frames that cost the client nothing and us some work, counted per
  // connection in one-second windows of the caller's clock (receive()'s now_ms). One over the
  // limit queues GOAWAY ENHANCE_YOUR_CALM and receive() fails: send pending_output() and close.
  // Client RST_STREAMs (Rapid Reset, CVE-2023-44487): each may have cancelled backend work; and
  // RST_STREAMs nghttp2 sends for streams never announced (MadeYouReset: malformed heads).
  // nghttp2's own token bucket stays on behind it, looser (burst 1000, refilled at this rate).
  uint32_t max_resets_per_second = 100;
  uint32_t max_settings_per_second = 20;     // non-ACK SETTINGS (CVE-2019-9515)
  uint32_t max_pings_per_second = 20;        // non-ACK PING (CVE-2019-9512)
  uint32_t max_empty_data_per_second = 100;  // DATA with no payload nor END_STREAM (CVE-2019-9518)
  // CONTINUATION frames after one HEADERS (CVE-2024-27316 class); over it nghttp2 ends the
  // connection. With max_header_list_size it bounds a header block that never ends.
  uint32_t max_continuations = 8;
  // Entries in one SETTINGS frame (nghttp2's default, 32): more is a connection error.
  uint32_t max_settings_entries = 32;
  // SETTINGS and PING ACKs queued because the client does not read (nghttp2's default, 1000):
  // more ends the connection with ENHANCE_YOUR_CALM.
  uint32_t max_outbound_ack = 1000;
  // HPACK: the request decoder's dynamic table (SETTINGS_HEADER_TABLE_SIZE, RFC 7541 §4.2); a
  // client's table size update above it is a COMPRESSION_ERROR. And the response encoder's table,
  // whatever larger size the client offers.
  uint32_t header_table_size = 4096;
  uint32_t max_encoder_table_size = 4096;
};

// A request's head. Valid from on_request_head until on_stream_closed for that stream returns.
struct H2Request {
  // method = :method, target = :path, host = :authority (or the Host field when :authority is
  // absent), version = 20. fields are the regular fields, without host, content-length and te.
  // framing: kContentLength when content-length came, kNone when the HEADERS ended the stream,
  // else kChunked (the length is unknown, so an HTTP/1.1 upstream needs chunked).
  Head head;
  std::string_view scheme;  // :scheme ("https", "http")
  bool end_stream = false;  // no body follows: on_request_end comes right after
};

// What the caller hears. Called from inside receive() and pending_output() (there when sending
// the last frame of a response closes a stream whose request had ended: on_stream_closed, and
// on_response_room), one at a time, never re-entered; the caller may call
// submit_*/reset_stream/goaway from them (nghttp2 queues, it does not send).
class H2Events {
 public:
  virtual ~H2Events() = default;
  virtual void on_request_head(StreamId stream, const H2Request& request) = 0;
  // A slice of request body; the view ends when the call returns. Every byte must later be
  // handed back with consume() once the backend has read it: that is what opens the window.
  virtual void on_request_body(StreamId stream, std::span<const char> bytes) = 0;
  virtual void on_request_end(StreamId stream) = 0;
  // The last event of a stream that had on_request_head. error_code 0 (NO_ERROR): both sides
  // ended; else the stream was reset, by the client or by this side (RFC 9113 §7 codes).
  virtual void on_stream_closed(StreamId stream, uint32_t error_code) = 0;
  // The client is going away: streams above last_stream_id were not processed by it.
  virtual void on_goaway(StreamId last_stream_id, uint32_t error_code) = 0;
  // From pending_output(): the stream's response queue has room again after submit_body() took
  // less than it was given.
  virtual void on_response_room(StreamId stream) = 0;
  // From pending_output(): a GOAWAY went out with this code (RFC 9113 §7), whoever queued it:
  // goaway(), a flood limit, or nghttp2 itself on a protocol error.
  virtual void on_goaway_sent(uint32_t /*error_code*/) {}
};

// An nghttp2 error: code is an nghttp2_error (negative), 0 when all went well. reason is static.
struct H2Error {
  int code = 0;
  const char* reason = "";
  bool ok() const { return code == 0; }
};

class H2Connection {
 public:
  // The events object must outlive the connection. Queues the server's SETTINGS at once.
  H2Connection(H2Settings settings, H2Events& events);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Feeds bytes from the client, starting with its 24-byte preface. All of `bytes` is used
  // unless an error comes back: then the connection is broken (nghttp2 has queued a GOAWAY);
  // send pending_output() and close.
  // now_ms: the caller's clock (milliseconds, monotonic), which the flood limits count in.
  H2Error receive(std::span<const char> bytes, uint64_t now_ms);
  // The same, on the steady clock.
  H2Error receive(std::span<const char> bytes);

  // Bytes to send, framed by nghttp2 into memory this object owns; valid until the next call of
  // anything but consume_output(). Empty when there is nothing to send (or the streams that have
  // a response wait for body bytes or window).
  std::span<const char> pending_output();
  // n bytes of pending_output() were sent.
  void consume_output(size_t n);

  // The backend has read n bytes of this stream's request body: the window opens by n.
  // Without it no WINDOW_UPDATE is sent (nghttp2_option_set_no_auto_window_update), so a client
  // can only ever be initial_window_size ahead of the backend. Call it also after the stream
  // closed: the connection's window counts those bytes too.
  void consume(StreamId stream, size_t n);

  // The response head. body_follows = false ends the stream with the HEADERS (204, HEAD, 304).
  // fields are end-to-end fields; names are lowercased (by nghttp2), and connection-specific
  // fields are left out, as HTTP/2 forbids them.
  H2Error submit_response(StreamId stream, unsigned status, std::span<const Field> fields,
                          bool body_follows);
  // Queues body bytes; returns how many were taken (fewer when the queue is full: wait for
  // on_response_room). They are framed as the client's window allows.
  size_t submit_body(StreamId stream, std::span<const char> bytes);
  // Free room in the stream's response queue (0 for an unknown stream).
  size_t response_room(StreamId stream) const;
  // The response body is complete once the queue drains; then trailers (if any) end the stream.
  H2Error end_stream(StreamId stream, std::span<const Field> trailers);
  // RST_STREAM with this code (RFC 9113 §7); on_stream_closed follows.
  H2Error reset_stream(StreamId stream, uint32_t error_code);
  // GOAWAY: no stream above last_stream_id will be served; those in flight may finish.
  H2Error goaway(StreamId last_stream_id, uint32_t error_code = 0);
  // The highest stream id the client opened so far, for a graceful goaway().
  StreamId last_client_stream() const;

  // Neither side has anything more to say (after GOAWAY with no stream left, or an error).
  bool finished() const;
  // Why the connection was told to calm down (a flood limit), or null.
  const char* flood_reason() const;
  // A request header block is under way (HEADERS came, its END_HEADERS not yet).
  bool header_block_open() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringlb::http
