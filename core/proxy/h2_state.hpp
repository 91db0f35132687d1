// What an HttpSession holds when HTTP/2 is spoken to its client (http_session_h2.cpp,
// http_session_stream.cpp). The client connection is one HttpSession in the connection role: it
// owns the codec and knows its streams. Each stream is another HttpSession, in the stream role,
// in a slot of its own, so its backend operations and timers carry its own tag and the HTTP/1.1
// backend code runs unchanged. The two find each other only through SlotHandles (a gone one
// finds nothing), never through pointers kept across calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/http/h2_connection.hpp"
#include "core/io/slot_table.hpp"
#include "core/io/timer_wheel.hpp"
#include "core/proxy/linger.hpp"

namespace ringlb {

class HttpSession;

// The connection role: the codec, its events, and the stream sessions it started.
struct H2ClientConnection final : http::H2Events {
  H2ClientConnection(HttpSession& owner, const http::H2Settings& settings)
      : session(owner), codec(settings, *this) {}

  void on_request_head(http::StreamId stream, const http::H2Request& request) override;
  void on_request_body(http::StreamId stream, std::span<const char> bytes) override;
  void on_request_end(http::StreamId stream) override;
  void on_stream_closed(http::StreamId stream, uint32_t error_code) override;
  void on_goaway(http::StreamId last_stream_id, uint32_t error_code) override;
  void on_response_room(http::StreamId stream) override;
  void on_goaway_sent(uint32_t error_code) override;

  struct Stream {
    http::StreamId id;
    SlotHandle session;
  };
  // The stream session, or null once it is gone.
  HttpSession* find(http::StreamId id);

  HttpSession& session;
  http::H2Connection codec;
  // Streams whose session still lives: until it is released, its backend work may not have
  // ended, so it counts against max_concurrent_streams even after a client reset (Rapid Reset).
  std::vector<Stream> streams;
  // Heads received during the current receive(): started only after it returns, so HEADERS
  // followed by RST_STREAM in one read costs no backend connect.
  std::vector<http::StreamId> to_begin;
  bool in_codec = false;      // inside receive() or pending_output(): no flush from within
  bool flush_wanted = false;  // a stream asked for a flush while in_codec
  bool goaway_sent = false;   // draining: no new stream
  // close_now() is aborting the streams: they send nothing more (no RST, no flush), since the
  // connection is going anyway, and none of them may close it again from inside.
  bool closing_streams = false;
  bool ever_had_stream = false;
  TimerWheel::Clock::time_point header_block_since{};
  const char* broken = nullptr;  // receive() failed: send what is queued (the GOAWAY), close
  // Ending gracefully: the last frames went out; the client's late frames (WINDOW_UPDATE, a
  // SETTINGS ack) are read until it closes, or is silent for a second with all it was sent
  // acknowledged, so the close is not a TCP reset that throws away what it has not read yet.
  Linger linger;
};

// The stream role: which connection, which stream, and the request body on its way.
struct H2StreamLink {
  SlotHandle connection;
  http::StreamId id = 0;
  http::Framing body_framing = http::Framing::kNone;
  uint64_t body_length = 0;  // the client's content-length, when body_framing says it has one
  std::string inbox;         // request body (HTTP/1.1-framed) not yet handed to the parser
  bool inbox_end = false;    // the client's END_STREAM came; the inbox ends with the body's end
  bool began = false;        // routed and connecting (after the receive() that opened it)
  // The stream is over on the codec's side: closed by it, or reset by this side
  // (reset_stream_if_unfinished). Nothing more is sent on it, and its close is not a client's.
  bool ended_by_codec = false;
  bool end_sent = false;       // end_stream() was called: the response is whole
  bool grpc = false;           // content-type application/grpc: failures answered the gRPC way
  uint64_t body_received = 0;  // DATA bytes from the client...
  uint64_t body_in_inbox = 0;  // ...of which still in the inbox...
  uint64_t body_credited = 0;  // ...and those handed back with consume() (the window)
  std::vector<http::Field> response_fields;  // scratch for HEADERS, reused
  std::string response_storage;
};

}  // namespace ringlb
