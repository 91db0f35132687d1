// Issue 18 item 6, the codec's side: each flood is attacked and must end the connection with
// GOAWAY (ENHANCE_YOUR_CALM where the limit is ours) before it creates work; time is the test's,
// passed to receive(). Frames nghttp2's client will not send (empty DATA, a CONTINUATION chain,
// a table size update) are written by hand.
#include "core/http/h2_connection.hpp"
#include "h2_connection_test_support.hpp"

namespace ringlb::http {
namespace {

using h2_test::Client;
using h2_test::find;
using h2_test::pump_at;
using h2_test::Recorder;

constexpr uint8_t kData = 0, kHeaders = 1, kGoaway = 7, kContinuation = 9;
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4;
// GET https://example.com/ in HPACK: three static-table indexes, then :authority as a literal.
const std::string kGetBlock = std::string("\x82\x87\x84\x01\x0b", 5) + "example.com";

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  const size_t n = payload.size();
  std::string out = {static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8),
                     static_cast<char>(n),
                     static_cast<char>(type),
                     static_cast<char>(flags),
                     static_cast<char>(stream >> 24),
                     static_cast<char>(stream >> 16),
                     static_cast<char>(stream >> 8),
                     static_cast<char>(stream)};
  return out.append(payload);
}

// The client preface and an empty SETTINGS.
std::string opening() {
  return std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + frame(4, 0, 0, "");
}

// The error code of the first GOAWAY among the server's frames, -1 when there is none.
int goaway_code(std::span<const char> out) {
  size_t at = 0;
  while (at + 9 <= out.size()) {
    const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(out[i])); };
    const size_t length = byte(at) << 16 | byte(at + 1) << 8 | byte(at + 2);
    if (byte(at + 3) == kGoaway && at + 9 + 8 <= out.size()) {
      return static_cast<int>(byte(at + 13) << 24 | byte(at + 14) << 16 | byte(at + 15) << 8 |
                              byte(at + 16));
    }
    at += 9 + length;
  }
  return -1;
}

TEST(H2Limits, RapidResetPastTheLimitPerSecondEndsTheConnectionCalmly) {
  Recorder events;
  H2Settings settings;
  settings.max_resets_per_second = 10;
  H2Connection server(settings, events);
  Client client;
  H2Error error;
  for (int i = 0; i < 11 && error.ok(); ++i) {
    const int32_t id = client.request("GET", "/");
    error = pump_at(client, server, 5000);
    if (error.ok()) {
      nghttp2_submit_rst_stream(client.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      error = pump_at(client, server, 5000);
    }
  }
  ASSERT_FALSE(error.ok());
  EXPECT_STREQ(error.reason, "RST_STREAM flood");
  EXPECT_EQ(client.goaway_error, NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(events.heads.size(), 11u);   // each announced stream was closed: no backend work left
  EXPECT_EQ(events.closed.size(), 10u);  // the 11th reset is the one refused with the connection
  const std::string after = frame(kHeaders, kEndHeaders | kEndStream, 101, kGetBlock);
  server.receive({after.data(), after.size()}, 5000);
  EXPECT_EQ(events.heads.size(), 11u);  // nothing after the GOAWAY reaches the caller
}

TEST(H2Limits, ResetsTheClientProvokesCountLikeItsOwn) {
  Recorder events;
  H2Settings settings;
  settings.max_resets_per_second = 10;
  H2Connection server(settings, events);
  Client client;
  for (int i = 0; i < 11; ++i) client.request("GET", "/", {{"X-Upper", "1"}});  // each reset
  pump_at(client, server, 0);
  EXPECT_EQ(client.goaway_error, NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_TRUE(server.finished());
  EXPECT_TRUE(events.log.empty());
}

TEST(H2Limits, ResetsWithinTheLimitEachSecondAreServed) {
  Recorder events;
  H2Settings settings;
  settings.max_resets_per_second = 10;
  H2Connection server(settings, events);
  Client client;
  for (int i = 0; i < 30; ++i) {
    const uint64_t now_ms = 1000 + 100 * static_cast<uint64_t>(i);  // ten a second, three seconds
    const int32_t id = client.request("GET", "/");
    ASSERT_TRUE(pump_at(client, server, now_ms).ok());
    nghttp2_submit_rst_stream(client.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    ASSERT_TRUE(pump_at(client, server, now_ms).ok());
  }
  EXPECT_EQ(events.closed.size(), 30u);
  EXPECT_EQ(client.goaway_error, -1);
}

TEST(H2Limits, SettingsFloodEndsTheConnectionCalmly) {
  Recorder events;
  H2Settings settings;
  settings.max_settings_per_second = 5;
  H2Connection server(settings, events);
  Client client;  // its opening SETTINGS is the first
  for (int i = 0; i < 5; ++i)
    nghttp2_submit_settings(client.session, NGHTTP2_FLAG_NONE, nullptr, 0);
  const H2Error error = pump_at(client, server, 0);
  ASSERT_FALSE(error.ok());
  EXPECT_STREQ(error.reason, "SETTINGS flood");
  EXPECT_EQ(client.goaway_error, NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_TRUE(events.log.empty());
}

TEST(H2Limits, PingFloodEndsTheConnectionCalmly) {
  Recorder events;
  H2Settings settings;
  settings.max_pings_per_second = 5;
  H2Connection server(settings, events);
  Client client;
  for (int i = 0; i < 6; ++i) nghttp2_submit_ping(client.session, NGHTTP2_FLAG_NONE, nullptr);
  const H2Error error = pump_at(client, server, 0);
  ASSERT_FALSE(error.ok());
  EXPECT_STREQ(error.reason, "PING flood");
  EXPECT_EQ(client.goaway_error, NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_TRUE(events.log.empty());
}

TEST(H2Limits, PingsWithinTheLimitAreAnswered) {
  Recorder events;
  H2Settings settings;
  settings.max_pings_per_second = 5;
  H2Connection server(settings, events);
  Client client;
  for (int second = 0; second < 3; ++second) {
    for (int i = 0; i < 5; ++i) nghttp2_submit_ping(client.session, NGHTTP2_FLAG_NONE, nullptr);
    ASSERT_TRUE(pump_at(client, server, 1000 * static_cast<uint64_t>(second)).ok());
  }
  EXPECT_EQ(client.goaway_error, -1);
}

TEST(H2Limits, EmptyDataFloodEndsTheConnectionCalmly) {
  Recorder events;
  H2Settings settings;
  settings.max_empty_data_per_second = 100;
  H2Connection server(settings, events);
  // A POST (":method POST" is static index 3) whose body is only ever empty DATA frames.
  std::string attack =
      opening() + frame(kHeaders, kEndHeaders, 1, std::string("\x83", 1) + kGetBlock.substr(1));
  for (int i = 0; i < 101; ++i) attack += frame(kData, 0, 1, "");
  const H2Error error = server.receive({attack.data(), attack.size()}, 0);
  ASSERT_FALSE(error.ok());
  EXPECT_STREQ(error.reason, "empty DATA flood");
  EXPECT_EQ(goaway_code(server.pending_output()), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(events.log, (std::vector<std::string>{"head 1"}));  // the POST head; it never ends
}

// The block of a GET, cut into `pieces`: one HEADERS and pieces - 1 CONTINUATION frames.
std::string split_block(size_t pieces) {
  std::string out;
  const size_t step = kGetBlock.size() / pieces;
  for (size_t i = 0; i < pieces; ++i) {
    const bool last = i + 1 == pieces;
    const std::string piece = kGetBlock.substr(i * step, last ? std::string::npos : step);
    if (i == 0) {
      out += frame(kHeaders, kEndStream | (last ? kEndHeaders : 0), 1, piece);
    } else {
      out += frame(kContinuation, last ? kEndHeaders : 0, 1, piece);
    }
  }
  return out;
}

TEST(H2Limits, ContinuationFloodEndsTheConnectionBeforeAnyHead) {
  Recorder events;
  H2Connection server({}, events);                         // max_continuations = 8
  const std::string attack = opening() + split_block(10);  // HEADERS + 9 CONTINUATION
  const H2Error error = server.receive({attack.data(), attack.size()}, 0);
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.code, NGHTTP2_ERR_TOO_MANY_CONTINUATIONS);
  EXPECT_TRUE(events.log.empty());
}

TEST(H2Limits, HeaderBlockInEightContinuationsIsServed) {
  Recorder events;
  H2Connection server({}, events);
  const std::string request = opening() + split_block(9);  // HEADERS + 8 CONTINUATION
  ASSERT_TRUE(server.receive({request.data(), request.size()}, 0).ok());
  EXPECT_EQ(events.log, (std::vector<std::string>{"head 1", "end 1"}));
}

TEST(H2Limits, TheDecoderTableSizeIsAdvertised) {
  Recorder events;
  H2Settings settings;
  settings.header_table_size = 1024;
  H2Connection server(settings, events);
  Client client;
  ASSERT_TRUE(pump_at(client, server, 0).ok());
  EXPECT_EQ(nghttp2_session_get_remote_settings(client.session, NGHTTP2_SETTINGS_HEADER_TABLE_SIZE),
            1024u);
}

TEST(H2Limits, HpackTableSizeUpdateOverTheAdvertisedSizeIsACompressionError) {
  Recorder events;
  H2Connection server({}, events);  // header_table_size = 4096
  // A dynamic table size update to 65,536 (RFC 7541 §6.3), then the GET.
  const std::string block = std::string("\x3f\xe1\xff\x03", 4) + kGetBlock;
  const std::string attack = opening() + frame(kHeaders, kEndHeaders | kEndStream, 1, block);
  // nghttp2 answers this connection error itself: receive() succeeds, a GOAWAY is queued, and
  // once it is sent the connection is finished.
  server.receive({attack.data(), attack.size()}, 0);
  const std::span<const char> out = server.pending_output();
  EXPECT_EQ(goaway_code(out), NGHTTP2_COMPRESSION_ERROR);
  server.consume_output(out.size());
  EXPECT_TRUE(server.finished());
  EXPECT_TRUE(events.log.empty());
}

// Five hundred copies of one 1,000-byte field: the client's HPACK encoder sends the first as a
// literal and the rest as one-byte indexes, ~1.5 KB on the wire expanding to ~500 KB.
TEST(H2Limits, HpackDecompressionBombIsAnswered431AndNeverAnnounced) {
  Recorder events;
  H2Connection server({}, events);  // max_header_list_size = 32 KiB
  Client client;
  h2_test::Pairs bomb(500, {"x-bomb", std::string(1000, 'b')});
  const int32_t id = client.request("GET", "/", bomb);
  ASSERT_TRUE(pump_at(client, server, 0).ok());
  EXPECT_TRUE(events.log.empty());
  EXPECT_EQ(find(client.streams[id].headers, ":status"), "431");
  EXPECT_TRUE(client.streams[id].closed);
}

}  // namespace
}  // namespace ringlb::http
