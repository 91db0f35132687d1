// The inside of H2Connection, shared by h2_connection.cpp (the public calls) and h2_callbacks.cpp
// (nghttp2's callbacks): the per-stream state and the connection's buffers. Private to core/http,
// the one room where <nghttp2/nghttp2.h> may be included.
#pragma once

#include <nghttp2/nghttp2.h>

#include <memory>
#include <string>
#include <vector>

#include "core/http/h2_connection.hpp"
#include "core/http/h2_flood_guard.hpp"

namespace ringlb::http {

// Fields copied out of nghttp2's callbacks (its views end with each call) into one string, and
// turned into views only once the block is complete, so appending never moves what a view holds.
struct FieldBlock {
  struct Offsets {
    uint32_t name, name_size, value, value_size;
  };
  std::string text;
  std::vector<Offsets> offsets;
  size_t list_size = 0;  // RFC 9113 §6.5.2: names + values + 32 per field

  void add(std::string_view name, std::string_view value);
  std::string_view name(const Offsets& at) const { return {text.data() + at.name, at.name_size}; }
  std::string_view value(const Offsets& at) const {
    return {text.data() + at.value, at.value_size};
  }
  void clear();
};

struct H2Stream {
  StreamId id = 0;
  // Request side.
  FieldBlock request_fields;
  H2Request request;
  bool refused = false;         // answered (431, 400, 501) by this side, never announced
  bool head_delivered = false;  // the caller knows this stream: it gets every event until closed
  // Response side: body bytes not yet framed are body[body_sent, size).
  std::string body;
  size_t body_sent = 0;
  bool body_ended = false;  // end_stream() was called
  bool deferred = false;    // the data provider said NGHTTP2_ERR_DEFERRED: resume on new bytes
  bool wants_room = false;  // submit_body() took less than given: on_response_room is owed
  FieldBlock trailers;
  char status[4] = {};

  size_t queued() const { return body.size() - body_sent; }
  // Back to a fresh stream, keeping the memory of its strings and vectors for the next one.
  void reset();
};

struct H2Connection::Impl {
  Impl(H2Settings settings_in, H2Events& events_in) : settings(settings_in), events(events_in) {}
  ~Impl();

  H2Settings settings;
  H2Events& events;
  nghttp2_session* session = nullptr;
  std::string output;  // framed bytes; output[output_sent, size) waits to be sent
  size_t output_sent = 0;
  // Every stream object ever made (at most the concurrent peak), and those free for reuse: a warm
  // connection allocates none per request. A live one is found through nghttp2's stream user data.
  std::vector<std::unique_ptr<H2Stream>> stream_store;
  std::vector<H2Stream*> spare_streams;
  std::vector<StreamId> room_opened;  // on_response_room owed after mem_send
  FloodGuard flood;
  // A request header block has begun and its last frame has not come: the connection can carry
  // nothing else until it does (RFC 9113 §6.10), so its time is bounded by the header timeout.
  bool header_block_open = false;
  // Scratch for the name/value arrays handed to nghttp2's submit calls, which copy them.
  std::string nv_text;
  std::vector<nghttp2_nv> nv;

  H2Stream* find(StreamId id);
  H2Stream& open(StreamId id);
  void close(StreamId id);
  // The data provider of `stream` waits for bytes (NGHTTP2_ERR_DEFERRED): wake it.
  void resume(H2Stream& stream);
  // Fills nv (and nv_text) with `fields`, connection-specific fields left out; nghttp2's submit
  // calls copy them and lowercase the names.
  // With a status, ":status" comes first.
  void encode(const char* status, std::span<const Field> fields);
  void encode(const FieldBlock& block);
  // Makes the request head of a completed header block and tells the caller, unless the head is
  // refused (h2_request_head.cpp).
  void deliver_head(H2Stream& stream, bool end_stream);
  // Answers the stream with this bodiless status ("431", a static string) and never announces it.
  void refuse(H2Stream& stream, const char* status);
  // Counts a client frame against its per-second limit; false once over it, with GOAWAY
  // ENHANCE_YOUR_CALM queued (h2_callbacks.cpp).
  bool admit(FrameRate& rate, uint32_t limit, const char* reason);
};

// nghttp2's callbacks, wired to an Impl through the session's user_data (h2_callbacks.cpp).
nghttp2_session_callbacks* make_h2_callbacks();
ssize_t read_response_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source* source, void* user_data);

}  // namespace ringlb::http
