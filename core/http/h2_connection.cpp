// H2Connection's public calls and its stream bookkeeping. The session runs with HTTP messaging
// checks on (nghttp2's default) and without automatic WINDOW_UPDATE, so the request body a client
// may send is bounded by what the backend has read (consume()).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/http/h2_connection_impl.hpp"

namespace ringlb::http {
namespace {

// RFC 9113 §8.2.2: fields that only make sense for one HTTP/1.1 hop; HTTP/2 forbids them.
bool is_connection_specific(std::string_view name) {
  for (std::string_view banned :
       {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}) {
    if (iequals(name, banned)) return true;
  }
  return false;
}

nghttp2_nv make_nv(const char* name, size_t name_size, const char* value, size_t value_size) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value)), name_size, value_size,
          NGHTTP2_NV_FLAG_NONE};
}

H2Error error_of(int code) {
  if (code >= 0) return {};
  return {code, nghttp2_strerror(code)};
}

// The limits nghttp2 enforces itself (H2Settings documents each).
void set_limits(nghttp2_option* option, const H2Settings& settings) {
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_continuations(option, settings.max_continuations);
  nghttp2_option_set_max_settings(option, settings.max_settings_entries);
  nghttp2_option_set_max_outbound_ack(option, settings.max_outbound_ack);
  nghttp2_option_set_max_deflate_dynamic_table_size(option, settings.max_encoder_table_size);
  // A backstop on nghttp2's own clock, looser than the per-second count (h2_callbacks.cpp).
  nghttp2_option_set_stream_reset_rate_limit(
      option, std::max<uint64_t>(1000, uint64_t{10} * settings.max_resets_per_second),
      std::max<uint64_t>(1, settings.max_resets_per_second));
}

const H2Error kUnknownStream{NGHTTP2_ERR_INVALID_ARGUMENT, "unknown stream"};

}  // namespace

void FieldBlock::add(std::string_view field_name, std::string_view field_value) {
  const auto at = static_cast<uint32_t>(text.size());
  text.append(field_name).append(field_value);
  offsets.push_back({at, static_cast<uint32_t>(field_name.size()),
                     at + static_cast<uint32_t>(field_name.size()),
                     static_cast<uint32_t>(field_value.size())});
  list_size += field_name.size() + field_value.size() + 32;
}

void FieldBlock::clear() {
  text.clear();
  offsets.clear();
  list_size = 0;
}

void H2Stream::reset() {
  id = 0;
  request_fields.clear();
  std::vector<Field> fields = std::move(request.head.fields);
  fields.clear();
  request = H2Request{};
  request.head.fields = std::move(fields);
  refused = head_delivered = false;
  body.clear();
  body_sent = 0;
  body_ended = deferred = wants_room = false;
  trailers.clear();
}

H2Connection::Impl::~Impl() { nghttp2_session_del(session); }

H2Stream* H2Connection::Impl::find(StreamId id) {
  if (session == nullptr || id <= 0) return nullptr;
  return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(session, id));
}

H2Stream& H2Connection::Impl::open(StreamId id) {
  if (spare_streams.empty()) {
    spare_streams.push_back(stream_store.emplace_back(std::make_unique<H2Stream>()).get());
  }
  H2Stream& stream = *spare_streams.back();
  spare_streams.pop_back();
  stream.id = id;
  nghttp2_session_set_stream_user_data(session, id, &stream);
  return stream;
}

// Called from nghttp2's stream close, after which nghttp2 forgets the stream and its user data.
void H2Connection::Impl::close(StreamId id) {
  H2Stream* stream = find(id);
  if (stream == nullptr) return;
  nghttp2_session_set_stream_user_data(session, id, nullptr);
  stream->reset();
  spare_streams.push_back(stream);
}

void H2Connection::Impl::resume(H2Stream& stream) {
  if (!stream.deferred) return;
  stream.deferred = false;
  nghttp2_session_resume_data(session, stream.id);
}

void H2Connection::Impl::encode(const char* status, std::span<const Field> fields) {
  size_t text_size = 0;
  for (const Field& field : fields) text_size += field.name.size() + field.value.size();
  nv_text.clear();
  nv_text.reserve(text_size);  // no reallocation below, so the pointers into it hold
  nv.clear();
  if (status != nullptr) nv.push_back(make_nv(":status", 7, status, std::strlen(status)));
  for (const Field& field : fields) {
    if (is_connection_specific(field.name)) continue;
    const char* name = nv_text.data() + nv_text.size();
    nv_text.append(field.name);
    const char* value = nv_text.data() + nv_text.size();
    nv_text.append(field.value);
    nv.push_back(make_nv(name, field.name.size(), value, field.value.size()));
  }
}

void H2Connection::Impl::encode(const FieldBlock& block) {
  nv.clear();
  for (const FieldBlock::Offsets& at : block.offsets) {
    const std::string_view name = block.name(at);
    const std::string_view value = block.value(at);
    nv.push_back(make_nv(name.data(), name.size(), value.data(), value.size()));
  }
}

H2Connection::H2Connection(H2Settings settings, H2Events& events)
    : impl_(std::make_unique<Impl>(settings, events)) {
  nghttp2_session_callbacks* callbacks = make_h2_callbacks();
  nghttp2_option* option = nullptr;
  if (callbacks != nullptr && nghttp2_option_new(&option) == 0) {
    set_limits(option, settings);
    nghttp2_session_server_new2(&impl_->session, callbacks, impl_.get(), option);
  }
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (impl_->session == nullptr) return;  // out of memory: receive() reports it
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings.max_header_list_size},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.initial_window_size},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, settings.header_table_size},
  };
  nghttp2_submit_settings(impl_->session, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  // The connection's receive window: every stream's window at once, so a stream whose backend
  // stalls holds only its own window of it and never blocks the others. What is buffered is
  // still bounded per stream by its window (consume() opens it only as the backend reads).
  const uint64_t connection_window =
      std::min<uint64_t>(uint64_t{settings.initial_window_size} * settings.max_concurrent_streams,
                         (uint64_t{1} << 31) - 1);
  if (connection_window > 65535) {
    nghttp2_session_set_local_window_size(impl_->session, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<int32_t>(connection_window));
  }
}

H2Connection::~H2Connection() = default;

H2Error H2Connection::receive(std::span<const char> bytes, uint64_t now_ms) {
  if (impl_->session == nullptr) return error_of(NGHTTP2_ERR_NOMEM);
  impl_->flood.now_ms = now_ms;
  const ssize_t used = nghttp2_session_mem_recv(
      impl_->session, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  H2Error error = error_of(used < 0 ? static_cast<int>(used) : 0);
  if (!error.ok() && impl_->flood.reason != nullptr) error.reason = impl_->flood.reason;
  return error;
}

H2Error H2Connection::receive(std::span<const char> bytes) {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  return receive(bytes, static_cast<uint64_t>(
                            std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
}

std::span<const char> H2Connection::pending_output() {
  constexpr size_t kEnough =
      size_t{64} * 1024;  // about one send's worth; the rest waits in nghttp2
  Impl& impl = *impl_;
  if (impl.output_sent == impl.output.size()) {
    impl.output.clear();
    impl.output_sent = 0;
  }
  while (impl.session != nullptr && impl.output.size() - impl.output_sent < kEnough) {
    const uint8_t* data = nullptr;
    const ssize_t size = nghttp2_session_mem_send(impl.session, &data);
    if (size <= 0) break;
    impl.output.append(reinterpret_cast<const char*>(data), static_cast<size_t>(size));
  }
  // Told after framing, outside nghttp2's callbacks; a handler may submit_body() at once.
  for (size_t i = 0; i < impl.room_opened.size(); ++i) {
    impl.events.on_response_room(impl.room_opened[i]);
  }
  impl.room_opened.clear();
  return {impl.output.data() + impl.output_sent, impl.output.size() - impl.output_sent};
}

void H2Connection::consume_output(size_t n) {
  impl_->output_sent = std::min(impl_->output.size(), impl_->output_sent + n);
}

void H2Connection::consume(StreamId stream, size_t n) {
  if (impl_->session != nullptr && stream > 0) nghttp2_session_consume(impl_->session, stream, n);
}

H2Error H2Connection::submit_response(StreamId id, unsigned status, std::span<const Field> fields,
                                      bool body_follows) {
  H2Stream* stream = impl_->find(id);
  if (stream == nullptr || !stream->head_delivered) return kUnknownStream;
  std::snprintf(stream->status, sizeof stream->status, "%03u", std::min(status, 999u));
  impl_->encode(stream->status, fields);
  nghttp2_data_provider provider{};
  provider.read_callback = read_response_body;
  return error_of(nghttp2_submit_response(impl_->session, id, impl_->nv.data(), impl_->nv.size(),
                                          body_follows ? &provider : nullptr));
}

size_t H2Connection::submit_body(StreamId id, std::span<const char> bytes) {
  H2Stream* stream = impl_->find(id);
  if (stream == nullptr || stream->body_ended) return 0;
  const size_t taken = std::min(bytes.size(), response_room(id));
  if (taken < bytes.size()) stream->wants_room = true;
  if (taken == 0) return 0;
  stream->body.erase(0, stream->body_sent);  // what was framed goes; what waits moves to the front
  stream->body_sent = 0;
  stream->body.append(bytes.data(), taken);
  impl_->resume(*stream);
  return taken;
}

size_t H2Connection::response_room(StreamId id) const {
  H2Stream* stream = impl_->find(id);
  if (stream == nullptr) return 0;
  return impl_->settings.max_queued_body_bytes -
         std::min(impl_->settings.max_queued_body_bytes, stream->queued());
}

H2Error H2Connection::end_stream(StreamId id, std::span<const Field> trailers) {
  H2Stream* stream = impl_->find(id);
  if (stream == nullptr) return kUnknownStream;
  stream->body_ended = true;
  stream->trailers.clear();
  for (const Field& field : trailers) {
    if (is_connection_specific(field.name)) continue;
    stream->trailers.add(field.name, field.value);
  }
  impl_->resume(*stream);
  return {};
}

H2Error H2Connection::reset_stream(StreamId stream, uint32_t error_code) {
  if (impl_->session == nullptr) return error_of(NGHTTP2_ERR_NOMEM);
  return error_of(nghttp2_submit_rst_stream(impl_->session, NGHTTP2_FLAG_NONE, stream, error_code));
}

H2Error H2Connection::goaway(StreamId last_stream_id, uint32_t error_code) {
  if (impl_->session == nullptr) return error_of(NGHTTP2_ERR_NOMEM);
  return error_of(nghttp2_submit_goaway(impl_->session, NGHTTP2_FLAG_NONE, last_stream_id,
                                        error_code, nullptr, 0));
}

StreamId H2Connection::last_client_stream() const {
  return impl_->session == nullptr ? 0 : nghttp2_session_get_last_proc_stream_id(impl_->session);
}

const char* H2Connection::flood_reason() const { return impl_->flood.reason; }

bool H2Connection::header_block_open() const { return impl_->header_block_open; }

bool H2Connection::finished() const {
  return impl_->session == nullptr || (nghttp2_session_want_read(impl_->session) == 0 &&
                                       nghttp2_session_want_write(impl_->session) == 0);
}

}  // namespace ringlb::http
