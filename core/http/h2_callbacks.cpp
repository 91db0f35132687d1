// nghttp2's callbacks for H2Connection: they copy what the client sent into the stream's state,
// turn complete frames into H2Events calls, and feed queued response body to the framer. They are
// C callbacks, so nothing thrown may cross them; nothing in them throws (the only allocations are
// in strings and vectors that keep their capacity across streams).
#include <algorithm>
#include <cstring>

#include "core/http/h2_connection_impl.hpp"

namespace ringlb::http {
namespace {

H2Connection::Impl& impl_of(void* user_data) {
  return *static_cast<H2Connection::Impl*>(user_data);
}

bool is_request_headers(const nghttp2_frame* frame) {
  return frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST;
}

int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  if (!is_request_headers(frame)) return 0;
  impl_of(user_data).open(frame->hd.stream_id);
  impl_of(user_data).header_block_open = true;
  return 0;
}

// Header fields of a request are kept; those of request trailers are dropped, as the HTTP/1.x
// parser drops chunked trailers.
// RFC 9113 §10.5.1: a header list over the advertised limit is answered with 431, and the stream
// is never announced. nghttp2 still decodes the rest of the block, which HPACK's state needs, but
// nothing more is copied, so a decompression bomb (tiny indexed fields expanding to megabytes)
// costs decoding time and no memory.
int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t name_size,
              const uint8_t* value, size_t value_size, uint8_t, void* user_data) {
  if (!is_request_headers(frame)) return 0;
  H2Connection::Impl& impl = impl_of(user_data);
  H2Stream* stream = impl.find(frame->hd.stream_id);
  if (stream == nullptr || stream->refused) return 0;
  FieldBlock& block = stream->request_fields;
  if (block.list_size + name_size + value_size + 32 > impl.settings.max_header_list_size) {
    impl.refuse(*stream, "431");
    return 0;
  }
  block.add({reinterpret_cast<const char*>(name), name_size},
            {reinterpret_cast<const char*>(value), value_size});
  return 0;
}

void on_end_of_request(H2Connection::Impl& impl, StreamId id) {
  H2Stream* stream = impl.find(id);
  if (stream != nullptr && stream->head_delivered) impl.events.on_request_end(id);
}

// The frames a client can send for free, counted per second (FloodGuard).
bool admit_frame(H2Connection::Impl& impl, const nghttp2_frame* frame) {
  const H2Settings& limits = impl.settings;
  FloodGuard& flood = impl.flood;
  const bool ack = (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_RST_STREAM:
      return impl.admit(flood.resets, limits.max_resets_per_second, "RST_STREAM flood");
    case NGHTTP2_SETTINGS:
      return ack || impl.admit(flood.settings, limits.max_settings_per_second, "SETTINGS flood");
    case NGHTTP2_PING:
      return ack || impl.admit(flood.pings, limits.max_pings_per_second, "PING flood");
    case NGHTTP2_DATA:
      if (frame->hd.length > 0 || (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) return true;
      return impl.admit(flood.empty_data, limits.max_empty_data_per_second, "empty DATA flood");
    default:
      return true;
  }
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  H2Connection::Impl& impl = impl_of(user_data);
  if (!admit_frame(impl, frame)) return NGHTTP2_ERR_CALLBACK_FAILURE;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
      impl.header_block_open = false;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        H2Stream* stream = impl.find(frame->hd.stream_id);
        if (stream != nullptr && !stream->refused) impl.deliver_head(*stream, end_stream);
      } else if (end_stream) {
        on_end_of_request(impl, frame->hd.stream_id);  // request trailers
      }
      break;
    case NGHTTP2_DATA:
      if (end_stream) on_end_of_request(impl, frame->hd.stream_id);
      break;
    case NGHTTP2_GOAWAY:
      impl.events.on_goaway(frame->goaway.last_stream_id, frame->goaway.error_code);
      break;
    default:
      break;
  }
  return 0;
}

// Body of a stream the caller never heard of is handed back at once, so the connection's window
// does not shrink for bytes nobody will consume.
int on_data_chunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                  size_t size, void* user_data) {
  H2Connection::Impl& impl = impl_of(user_data);
  H2Stream* stream = impl.find(stream_id);
  if (stream == nullptr || !stream->head_delivered) {
    nghttp2_session_consume(session, stream_id, size);
    return 0;
  }
  impl.events.on_request_body(stream_id, {reinterpret_cast<const char*>(data), size});
  return 0;
}

// MadeYouReset: a client can make this side reset streams (malformed heads, streams over the
// cap) as cheaply as it resets them itself, so those resets count in the same bucket. Resets of
// streams the caller knows are the caller's (reset_stream()) and are not counted. Over the limit
// the GOAWAY goes out in this same pending_output(), and finished() turns true.
int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
  H2Connection::Impl& impl = impl_of(user_data);
  if (frame->hd.type == NGHTTP2_GOAWAY) impl.events.on_goaway_sent(frame->goaway.error_code);
  // The response is whole but the client has not ended its side (a body still coming, or an
  // END_STREAM that never comes): RFC 9113 §8.1 lets a server end the stream with
  // RST_STREAM(NO_ERROR), as nginx and nghttpx do, so the stream neither waits for the rest nor
  // holds a draining connection open. Sent only after the END_STREAM frame itself went out.
  const bool ends_our_side =
      (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (ends_our_side && nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
  }
  if (frame->hd.type != NGHTTP2_RST_STREAM) return 0;
  const H2Stream* stream = impl.find(frame->hd.stream_id);
  if (stream == nullptr || !stream->head_delivered) {
    impl.admit(impl.flood.resets, impl.settings.max_resets_per_second, "RST_STREAM flood");
  }
  return 0;
}

int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user_data) {
  H2Connection::Impl& impl = impl_of(user_data);
  H2Stream* stream = impl.find(stream_id);
  impl.header_block_open = false;  // a block nghttp2 refused ends with its stream
  if (stream == nullptr) return 0;
  if (stream->head_delivered) impl.events.on_stream_closed(stream_id, error_code);
  impl.close(stream_id);
  return 0;
}

// When the queue has drained to half, the caller hears it may submit again.
void note_room(H2Connection::Impl& impl, H2Stream& stream) {
  if (stream.wants_room && stream.queued() <= impl.settings.max_queued_body_bytes / 2) {
    stream.wants_room = false;
    impl.room_opened.push_back(stream.id);
  }
}

}  // namespace

bool H2Connection::Impl::admit(FrameRate& rate, uint32_t limit, const char* reason) {
  if (rate.admit(flood.now_ms, limit)) return true;
  if (flood.reason == nullptr) {
    flood.reason = reason;
    nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
  }
  return false;
}

// nghttp2's data provider: frames what the stream's queue holds, defers while it is empty (the
// caller's submit_body or end_stream resumes it), and at the end sends trailers or END_STREAM.
ssize_t read_response_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
  H2Connection::Impl& impl = impl_of(user_data);
  H2Stream* stream = impl.find(stream_id);
  if (stream == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const size_t n = std::min(length, stream->queued());
  std::memcpy(buf, stream->body.data() + stream->body_sent, n);
  stream->body_sent += n;
  if (stream->queued() == 0) {
    stream->body.clear();  // keeps its capacity for the next bytes
    stream->body_sent = 0;
  }
  note_room(impl, *stream);
  if (stream->queued() > 0 || (n > 0 && !stream->body_ended)) return static_cast<ssize_t>(n);
  if (!stream->body_ended) {
    stream->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  if (!stream->trailers.offsets.empty()) {
    impl.encode(stream->trailers);
    if (nghttp2_submit_trailer(session, stream_id, impl.nv.data(), impl.nv.size()) == 0) {
      *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
  }
  return static_cast<ssize_t>(n);
}

nghttp2_session_callbacks* make_h2_callbacks() {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return nullptr;
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
  return callbacks;
}

}  // namespace ringlb::http
