// libFuzzer target over the server H2Connection, driven the way an HTTP/2 session drives it: the
// client's bytes arrive in reads, every request head is answered at once with a small response
// (sent through the body queue, refilled on on_response_room), and pending_output() is drained
// after every read. It checks the H2Events contract and the bounds; any broken one aborts.
//
// Input: byte 0 is the read size (0 = all in one read, n = reads of n bytes); byte 1 holds flags
// (kFlag* below); the rest is what the client sends, starting with its preface. Seeds start with
// two bytes, e.g. "\0\0PRI * HTTP/2.0..." (tests/fuzz/make_h2_corpus.py writes them).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/h2_connection.hpp"

namespace ringlb::http {
namespace {

constexpr uint8_t kFlagTightLimits = 1;   // 2 streams, 256-byte header lists, 64-byte body queue
constexpr uint8_t kFlagConsumeLate = 2;   // request body is consumed after the stream ends only
constexpr uint8_t kFlagTrailers = 4;      // responses end with trailers
constexpr uint8_t kFlagSlowReader = 8;    // only half of pending_output() is sent each time
constexpr uint8_t kFlagServerReset = 16;  // every third request is reset by the server (CANCEL)
constexpr uint8_t kFlagGoaway = 32;       // the server sends a graceful GOAWAY after the 1st read
constexpr uint8_t kFlagBigBody = 64;      // responses are 1000 bytes, past the tight queue

// pending_output() frames until 64 KiB wait, plus one frame of at most 16 KiB + 9 (the largest a
// peer can be sent before it raises SETTINGS_MAX_FRAME_SIZE, and our frames are small).
constexpr size_t kMaxPendingOutput = size_t{64} * 1024 + 16 * 1024 + 9;
// The connection's receive window stays at RFC 9113's 65,535 (h2_connection.hpp); a stream's is
// at most the larger of that (before the client acknowledges our SETTINGS) and ours.
constexpr size_t kConnectionWindow = 65535;

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "h2_connection_fuzz: invariant broken: %s\n", invariant);
  std::abort();
}

bool has_forbidden_byte(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool has_upper(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// What the harness knows of one stream the connection announced.
struct StreamState {
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;
  uint64_t body_received = 0;
  size_t unconsumed = 0;  // body bytes not yet handed back with consume()
  bool request_ended = false;
  std::string response_left;  // response body not yet taken by submit_body()
  bool response_ended = false;
};

// The caller of H2Connection: answers, consumes, and checks every event against the contract.
class Harness final : public H2Events {
 public:
  explicit Harness(uint8_t flags) : flags_(flags), connection_(settings_for(flags), *this) {}

  // One read from the client. Returns false once the connection is broken.
  bool receive(std::string_view bytes) {
    const H2Error error = connection_.receive({bytes.data(), bytes.size()});
    check(error.ok() || *error.reason != '\0', "an error has a reason");
    consume_late();
    drain();
    if (!error.ok()) return false;
    if ((flags_ & kFlagGoaway) != 0 && !goaway_sent_) {
      goaway_sent_ = true;
      check(connection_.goaway(connection_.last_client_stream()).ok(), "goaway() succeeds");
      drain();
    }
    return true;
  }

  // Sends what the connection has to say, as a socket that takes all (or half) of each offer.
  void drain() {
    for (int round = 0; round < 10000; ++round) {
      const std::span<const char> out = connection_.pending_output();
      check(out.size() <= kMaxPendingOutput, "pending_output() is bounded");
      if (out.empty()) return;
      const size_t sent = (flags_ & kFlagSlowReader) != 0 ? (out.size() + 1) / 2 : out.size();
      connection_.consume_output(sent);
    }
    check(false, "pending_output() runs dry");
  }

  void on_request_head(StreamId stream, const H2Request& request) override {
    check(stream > 0 && stream % 2 == 1, "a client stream id is odd");
    check(closed_.count(stream) == 0, "no head after on_stream_closed");
    check(open_.count(stream) == 0, "one head per stream");
    check_head(request);
    StreamState& state = open_[stream];
    state.framing = request.head.framing;
    state.content_length = request.head.content_length;
    answer(stream, request);
  }

  void on_request_body(StreamId stream, std::span<const char> bytes) override {
    StreamState& state = live(stream, "body");
    check(!state.request_ended, "no body after on_request_end");
    check(!bytes.empty(), "a body slice is not empty");
    state.body_received += bytes.size();
    check(state.framing != Framing::kContentLength || state.body_received <= state.content_length,
          "no more body than content-length");
    if ((flags_ & kFlagConsumeLate) != 0) {
      state.unconsumed += bytes.size();
      unconsumed_ += bytes.size();
      check(state.unconsumed <= std::max<size_t>(kConnectionWindow, window_),
            "a stream's unconsumed body fits its window");
      check(unconsumed_ <= kConnectionWindow, "unconsumed body fits the connection's window");
    } else {
      connection_.consume(stream, bytes.size());
    }
    if ((flags_ & kFlagServerReset) != 0 && stream % 3 == 0) {
      check(connection_.reset_stream(stream, 8).ok(), "reset_stream() succeeds");
    }
  }

  void on_request_end(StreamId stream) override {
    StreamState& state = live(stream, "end");
    check(!state.request_ended, "one on_request_end per stream");
    check(state.framing != Framing::kContentLength || state.body_received == state.content_length,
          "body total == content-length at the end");
    check(state.framing != Framing::kNone || state.body_received == 0, "no body without framing");
    state.request_ended = true;
  }

  void on_stream_closed(StreamId stream, uint32_t) override {
    StreamState& state = live(stream, "close");
    if (state.unconsumed > 0) late_consumes_.push_back({stream, state.unconsumed});
    unconsumed_ -= state.unconsumed;
    open_.erase(stream);
    closed_.insert(stream);
  }

  void on_goaway(StreamId last_stream_id, uint32_t) override {
    check(last_stream_id >= 0, "a GOAWAY's last stream id is not negative");
  }

  void on_response_room(StreamId stream) override {
    StreamState& state = live(stream, "room");
    check(connection_.response_room(stream) > 0, "on_response_room means room");
    feed(stream, state);
  }

 private:
  static H2Settings settings_for(uint8_t flags) {
    H2Settings settings;
    if ((flags & kFlagTightLimits) != 0) {
      settings.max_concurrent_streams = 2;
      settings.max_header_list_size = 256;
      settings.initial_window_size = 1024;
      settings.max_queued_body_bytes = 64;
    }
    return settings;
  }

  StreamState& live(StreamId stream, const char* event) {
    check(closed_.count(stream) == 0, event);  // an event after on_stream_closed
    const auto it = open_.find(stream);
    check(it != open_.end(), "an event names a stream announced by on_request_head");
    return it->second;
  }

  // nghttp2 checked the block (HTTP messaging); what comes out must be a clean request.
  static void check_head(const H2Request& request) {
    const Head& head = request.head;
    check(head.version == 20, "version 20");
    check(!head.method.empty(), ":method is present");
    check(head.method == "CONNECT" || !head.target.empty(), ":path is present");
    check(!has_forbidden_byte(head.target) && !has_forbidden_byte(head.host), "clean target");
    check(request.end_stream == (head.framing == Framing::kNone) ||
              head.framing == Framing::kContentLength,
          "framing matches END_STREAM");
    for (const Field& field : head.fields) {
      check(!field.name.empty() && field.name[0] != ':', "no pseudo-header among the fields");
      check(!has_upper(field.name), "field names are lowercase");
      check(!has_forbidden_byte(field.value), "no CR, LF or NUL in a value");
      for (std::string_view banned : {"connection", "keep-alive", "proxy-connection",
                                      "transfer-encoding", "upgrade", "host", "content-length"}) {
        check(field.name != banned, "connection-specific and framing fields are removed");
      }
    }
  }

  void answer(StreamId stream, const H2Request& request) {
    const bool head_request = request.head.method == "HEAD";
    static const Field kFields[] = {{"content-type", "text/plain"}, {"server", "ringlb-fuzz"}};
    const H2Error error = connection_.submit_response(stream, 200, kFields, !head_request);
    check(error.ok(), "submit_response() succeeds for an announced stream");
    if (head_request) return;
    StreamState& state = open_[stream];
    state.response_left.assign((flags_ & kFlagBigBody) != 0 ? 1000 : 13, 'r');
    feed(stream, state);
  }

  // Offers the rest of the response body; ends the stream once all of it was taken.
  void feed(StreamId stream, StreamState& state) {
    if (state.response_ended) return;
    const size_t taken = connection_.submit_body(stream, state.response_left);
    check(taken <= state.response_left.size(), "submit_body() takes no more than given");
    state.response_left.erase(0, taken);
    if (!state.response_left.empty()) return;
    static const Field kTrailers[] = {{"x-checksum", "fuzz"}};
    const bool trailers = (flags_ & kFlagTrailers) != 0;
    check(connection_
              .end_stream(stream,
                          trailers ? std::span<const Field>(kTrailers) : std::span<const Field>())
              .ok(),
          "end_stream() succeeds for a live stream");
    state.response_ended = true;
  }

  // Consumed outside the callbacks, as a session does once the backend has read the bytes.
  void consume_late() {
    for (const auto& [stream, n] : late_consumes_) connection_.consume(stream, n);
    late_consumes_.clear();
  }

  const uint8_t flags_;
  const size_t window_ = settings_for(flags_).initial_window_size;
  std::map<StreamId, StreamState> open_;
  std::set<StreamId> closed_;
  std::vector<std::pair<StreamId, size_t>> late_consumes_;
  size_t unconsumed_ = 0;
  bool goaway_sent_ = false;
  H2Connection connection_;  // last: destroyed first, while the state its events name still lives
};

void drive(std::string_view stream, size_t read_size, uint8_t flags) {
  Harness harness(flags);
  harness.drain();  // the server's SETTINGS
  if (read_size == 0) read_size = stream.size() + 1;
  for (size_t at = 0; at < stream.size(); at += read_size) {
    if (!harness.receive(stream.substr(at, read_size))) break;
  }
  harness.drain();
}

}  // namespace
}  // namespace ringlb::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  try {
    ringlb::http::drive(stream, data[0], data[1]);
  } catch (...) {
    ringlb::http::check(false, "H2Connection never throws");
  }
  return 0;
}
