// What h2_connection_test.cpp drives an H2Connection with: a real nghttp2 CLIENT session held in
// memory, a recorder of the H2Events the server side raises, and pump(), which moves bytes both
// ways until neither side has anything left to say. No sockets, no ring.
#pragma once

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/http/h2_connection.hpp"

namespace ringlb::http::h2_test {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// What the client saw of one stream.
struct ClientStream {
  Pairs headers;   // the response head, :status included
  Pairs trailers;  // a second HEADERS block
  std::string body;
  bool closed = false;
  uint32_t error_code = 0;   // of the close: RST_STREAM's code, 0 when both sides ended
  std::string request_body;  // what the request's data provider still has to send
  Pairs request_trailers;    // sent after request_body, when not empty
};

class Client {
 public:
  // auto_window = false: the client opens its window only through consume().
  explicit Client(bool auto_window = true) {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame);
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    nghttp2_option_set_no_auto_window_update(option, auto_window ? 0 : 1);
    // An attacker's header block may be far larger than nghttp2's 64 KiB sending cap.
    nghttp2_option_set_max_send_header_block_length(option, 1 << 20);
    nghttp2_session_client_new2(&session, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Client() { nghttp2_session_del(session); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Queues a request; with a body, it is sent by a data provider as the window allows.
  int32_t request(const std::string& method, const std::string& path, const Pairs& extra = {},
                  const std::string* body = nullptr) {
    Pairs fields = {{":method", method}, {":scheme", "https"}, {":path", path}};
    if (send_authority) fields.emplace_back(":authority", "example.com");
    fields.insert(fields.end(), extra.begin(), extra.end());
    return request_exactly(fields, body);
  }

  // Queues a request of exactly these fields, pseudo-headers included.
  int32_t request_exactly(Pairs fields, const std::string* body = nullptr) {
    std::vector<nghttp2_nv> nv;
    for (auto& [name, value] : fields) {
      // nghttp2 lowercases the names it copies; an uppercase name must go uncopied, so it is
      // kept alive here until sent.
      const bool upper =
          std::any_of(name.begin(), name.end(), [](char c) { return std::isupper(c); });
      std::string& kept_name = upper ? uncopied_names_.emplace_back(name) : name;
      nv.push_back(
          {reinterpret_cast<uint8_t*>(kept_name.data()), reinterpret_cast<uint8_t*>(value.data()),
           kept_name.size(), value.size(),
           static_cast<uint8_t>(upper ? NGHTTP2_NV_FLAG_NO_COPY_NAME : NGHTTP2_NV_FLAG_NONE)});
    }
    nghttp2_data_provider provider{};
    provider.read_callback = read_body;
    const int32_t id = nghttp2_submit_request(session, nullptr, nv.data(), nv.size(),
                                              body ? &provider : nullptr, nullptr);
    if (body) streams[id].request_body = *body;
    return id;
  }

  void consume(int32_t stream, size_t n) { nghttp2_session_consume(session, stream, n); }

  bool send_authority = true;  // false: only a host field names the origin
  int goaway_error = -1;       // the error code of the server's GOAWAY, -1 before one came
  nghttp2_session* session = nullptr;
  std::map<int32_t, ClientStream> streams;

 private:
  std::deque<std::string> uncopied_names_;

  static Client& self(void* user_data) { return *static_cast<Client*>(user_data); }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                       size_t name_size, const uint8_t* value, size_t value_size, uint8_t,
                       void* user_data) {
    ClientStream& stream = self(user_data).streams[frame->hd.stream_id];
    Pairs& into = frame->headers.cat == NGHTTP2_HCAT_HEADERS ? stream.trailers : stream.headers;
    into.emplace_back(std::string(reinterpret_cast<const char*>(name), name_size),
                      std::string(reinterpret_cast<const char*>(value), value_size));
    return 0;
  }
  static int on_data(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t size,
                     void* user_data) {
    self(user_data).streams[id].body.append(reinterpret_cast<const char*>(data), size);
    return 0;
  }
  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      self(user_data).goaway_error = static_cast<int>(frame->goaway.error_code);
    }
    return 0;
  }
  static int on_close(nghttp2_session*, int32_t id, uint32_t error_code, void* user_data) {
    ClientStream& stream = self(user_data).streams[id];
    stream.closed = true;
    stream.error_code = error_code;
    return 0;
  }
  static ssize_t read_body(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                           uint32_t* flags, nghttp2_data_source*, void* user_data) {
    std::string& rest = self(user_data).streams[id].request_body;
    const size_t n = std::min(length, rest.size());
    std::copy_n(rest.data(), n, reinterpret_cast<char*>(buf));
    rest.erase(0, n);
    if (!rest.empty()) return static_cast<ssize_t>(n);
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    Pairs& trailers = self(user_data).streams[id].request_trailers;
    if (!trailers.empty()) {
      std::vector<nghttp2_nv> nv;
      for (auto& [name, value] : trailers) {
        nv.push_back({reinterpret_cast<uint8_t*>(name.data()),
                      reinterpret_cast<uint8_t*>(value.data()), name.size(), value.size(),
                      NGHTTP2_NV_FLAG_NONE});
      }
      nghttp2_submit_trailer(session, id, nv.data(), nv.size());
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
    return static_cast<ssize_t>(n);
  }
};

// Every H2Events call, with the views copied (they end with the stream).
struct Recorder : H2Events {
  struct SeenHead {
    std::string method, path, authority, scheme;
    Pairs fields;
    Framing framing = Framing::kNone;
    uint64_t content_length = 0;
    bool end_stream = false;
  };
  std::map<StreamId, SeenHead> heads;
  std::map<StreamId, std::string> bodies;
  std::map<StreamId, uint32_t> closed;
  std::vector<std::string> log;  // "head 1", "body 1", "end 1", "closed 1", "goaway 0", "room 1"
  StreamId goaway_last = -1;

  void on_request_head(StreamId stream, const H2Request& request) override {
    SeenHead& seen = heads[stream];
    seen.method = request.head.method;
    seen.path = request.head.target;
    seen.authority = request.head.host;
    seen.scheme = request.scheme;
    for (const Field& field : request.head.fields)
      seen.fields.emplace_back(field.name, field.value);
    seen.framing = request.head.framing;
    seen.content_length = request.head.content_length;
    seen.end_stream = request.end_stream;
    note("head", stream);
  }
  void on_request_body(StreamId stream, std::span<const char> bytes) override {
    bodies[stream].append(bytes.data(), bytes.size());
    if (log.empty() || log.back() != "body " + std::to_string(stream)) note("body", stream);
  }
  void on_request_end(StreamId stream) override { note("end", stream); }
  void on_stream_closed(StreamId stream, uint32_t error_code) override {
    closed[stream] = error_code;
    note("closed", stream);
  }
  void on_goaway(StreamId last_stream_id, uint32_t) override {
    goaway_last = last_stream_id;
    note("goaway", last_stream_id);
  }
  void on_response_room(StreamId stream) override { note("room", stream); }

  void note(const char* what, StreamId stream) {
    log.push_back(std::string(what) + " " + std::to_string(stream));
  }
};

// Moves bytes client -> server -> client until neither has any left.
inline void pump(Client& client, H2Connection& server) {
  for (int round = 0; round < 10000; ++round) {
    bool moved = false;
    const uint8_t* data = nullptr;
    ssize_t size = 0;
    while ((size = nghttp2_session_mem_send(client.session, &data)) > 0) {
      const H2Error error =
          server.receive({reinterpret_cast<const char*>(data), static_cast<size_t>(size)});
      ASSERT_TRUE(error.ok()) << error.reason;
      moved = true;
    }
    const std::span<const char> out = server.pending_output();
    if (!out.empty()) {
      ASSERT_EQ(nghttp2_session_mem_recv(client.session,
                                         reinterpret_cast<const uint8_t*>(out.data()), out.size()),
                static_cast<ssize_t>(out.size()));
      server.consume_output(out.size());
      moved = true;
    }
    if (!moved) return;
  }
  FAIL() << "pump never settled";
}

// pump() for attacks: the server may fail; its first error is returned after what it queued (a
// GOAWAY) has reached the client. now_ms is the server's clock for the whole exchange.
inline H2Error pump_at(Client& client, H2Connection& server, uint64_t now_ms) {
  H2Error first;
  for (int round = 0; round < 10000; ++round) {
    bool moved = false;
    const uint8_t* data = nullptr;
    ssize_t size = 0;
    while (first.ok() && (size = nghttp2_session_mem_send(client.session, &data)) > 0) {
      first =
          server.receive({reinterpret_cast<const char*>(data), static_cast<size_t>(size)}, now_ms);
      moved = true;
    }
    const std::span<const char> out = server.pending_output();
    if (!out.empty()) {
      nghttp2_session_mem_recv(client.session, reinterpret_cast<const uint8_t*>(out.data()),
                               out.size());
      server.consume_output(out.size());
      moved = true;
    }
    if (!moved) break;
  }
  return first;
}

inline std::string find(const Pairs& pairs, const std::string& name) {
  for (const auto& [key, value] : pairs) {
    if (key == name) return value;
  }
  return "(absent)";
}

}  // namespace ringlb::http::h2_test
