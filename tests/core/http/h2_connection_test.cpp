// The HTTP/2 codec against a real nghttp2 client in memory: requests come out as Heads, responses
// reach the client with body and trailers, streams interleave, a response moves only as the
// client's window opens, a request body only as the backend consumes, and what RFC 9113 forbids
// is reset before any event names it.
#include "core/http/h2_connection.hpp"

#include "h2_connection_test_support.hpp"

namespace ringlb::http {
namespace {

using h2_test::Client;
using h2_test::find;
using h2_test::pump;
using h2_test::Recorder;

std::span<const char> bytes(const std::string& text) { return {text.data(), text.size()}; }

TEST(H2Connection, GetOnStreamOneYieldsOneRequestHead) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  const int32_t id = client.request("GET", "/a?b=1", {{"accept", "*/*"}});
  pump(client, server);
  ASSERT_EQ(id, 1);
  ASSERT_EQ(events.heads.size(), 1u);
  const Recorder::SeenHead& head = events.heads.at(1);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.path, "/a?b=1");
  EXPECT_EQ(head.authority, "example.com");
  EXPECT_EQ(head.scheme, "https");
  EXPECT_TRUE(head.end_stream);
  EXPECT_EQ(head.framing, Framing::kNone);
  EXPECT_EQ(head.fields, (h2_test::Pairs{{"accept", "*/*"}}));
  EXPECT_EQ(events.log, (std::vector<std::string>{"head 1", "end 1"}));
}

TEST(H2Connection, HostFieldStandsInForAMissingAuthorityAndIsNotAField) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.send_authority = false;
  client.request("GET", "/", {{"host", "example.com"}});
  pump(client, server);
  ASSERT_EQ(events.heads.size(), 1u);
  EXPECT_EQ(events.heads.at(1).authority, "example.com");
  EXPECT_EQ(find(events.heads.at(1).fields, "host"), "(absent)");
}

TEST(H2Connection, PostBodyArrivesAsBodyEventsThenEndOfStream) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  const std::string body(3000, 'p');
  client.request("POST", "/upload", {{"content-length", "3000"}}, &body);
  pump(client, server);
  ASSERT_EQ(events.heads.size(), 1u);
  EXPECT_EQ(events.heads.at(1).framing, Framing::kContentLength);
  EXPECT_EQ(events.heads.at(1).content_length, 3000u);
  EXPECT_FALSE(events.heads.at(1).end_stream);
  EXPECT_EQ(find(events.heads.at(1).fields, "content-length"), "(absent)");
  EXPECT_EQ(events.bodies[1], body);
  EXPECT_EQ(events.log, (std::vector<std::string>{"head 1", "body 1", "end 1"}));
}

TEST(H2Connection, RequestTrailersEndTheStreamAndAreDropped) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  const std::string body = "grpc-frame";
  const int32_t id = client.request("POST", "/svc/Method", {{"te", "trailers"}}, &body);
  client.streams[id].request_trailers = {{"x-checksum", "abc"}};
  pump(client, server);
  ASSERT_EQ(events.heads.size(), 1u);
  EXPECT_EQ(find(events.heads.at(1).fields, "te"), "(absent)");  // hop-by-hop, as for HTTP/1.1
  EXPECT_EQ(events.bodies[1], body);
  EXPECT_EQ(events.log, (std::vector<std::string>{"head 1", "body 1", "end 1"}));
}

TEST(H2Connection, BodyWithoutContentLengthIsFramedChunkedForTheUpstream) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  const std::string body = "abc";
  client.request("POST", "/", {}, &body);
  pump(client, server);
  ASSERT_EQ(events.heads.size(), 1u);
  EXPECT_EQ(events.heads.at(1).framing, Framing::kChunked);
  EXPECT_EQ(events.bodies[1], "abc");
}

TEST(H2Connection, ResponseWithBodyAndTrailersReachesTheClient) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/");
  pump(client, server);
  const Field fields[] = {{"Content-Type", "text/plain"}, {"Connection", "close"}};
  ASSERT_TRUE(server.submit_response(1, 200, fields, true).ok());
  EXPECT_EQ(server.submit_body(1, bytes("hello ")), 6u);
  EXPECT_EQ(server.submit_body(1, bytes("world")), 5u);
  const Field trailers[] = {{"Grpc-Status", "0"}};
  ASSERT_TRUE(server.end_stream(1, trailers).ok());
  pump(client, server);
  const h2_test::ClientStream& stream = client.streams.at(1);
  EXPECT_EQ(find(stream.headers, ":status"), "200");
  EXPECT_EQ(find(stream.headers, "content-type"), "text/plain");  // lowercased
  EXPECT_EQ(find(stream.headers, "connection"), "(absent)");      // forbidden in HTTP/2
  EXPECT_EQ(stream.body, "hello world");
  EXPECT_EQ(stream.trailers, (h2_test::Pairs{{"grpc-status", "0"}}));
  EXPECT_TRUE(stream.closed);
  EXPECT_EQ(stream.error_code, 0u);
  EXPECT_EQ(events.closed.at(1), 0u);
}

TEST(H2Connection, ResponseWithoutBodyEndsWithItsHeaders) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/");
  pump(client, server);
  ASSERT_TRUE(server.submit_response(1, 204, {}, false).ok());
  pump(client, server);
  EXPECT_EQ(find(client.streams.at(1).headers, ":status"), "204");
  EXPECT_TRUE(client.streams.at(1).closed);
  EXPECT_EQ(events.closed.at(1), 0u);
}

TEST(H2Connection, TwoConcurrentStreamsInterleaveAndOneFinishesWhileTheOtherWaits) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/slow");
  client.request("GET", "/fast");
  pump(client, server);
  ASSERT_EQ(events.heads.size(), 2u);
  EXPECT_EQ(events.heads.at(3).path, "/fast");
  ASSERT_TRUE(server.submit_response(1, 200, {}, true).ok());
  ASSERT_TRUE(server.submit_response(3, 200, {}, true).ok());
  server.submit_body(1, bytes("slow-1 "));
  server.submit_body(3, bytes("fast"));
  ASSERT_TRUE(server.end_stream(3, {}).ok());
  pump(client, server);
  EXPECT_TRUE(client.streams.at(3).closed);
  EXPECT_EQ(client.streams.at(3).body, "fast");
  EXPECT_FALSE(client.streams.at(1).closed);  // waits for body: deferred, not stalling stream 3
  EXPECT_EQ(client.streams.at(1).body, "slow-1 ");
  server.submit_body(1, bytes("slow-2"));
  ASSERT_TRUE(server.end_stream(1, {}).ok());
  pump(client, server);
  EXPECT_TRUE(client.streams.at(1).closed);
  EXPECT_EQ(client.streams.at(1).body, "slow-1 slow-2");
}

// The client's windows (stream and connection) start at 65,535 bytes and open only as it
// consumes: until then the server frames nothing more, and its bounded queue refuses more body.
TEST(H2Connection, MebibyteResponseFlowsOnlyAsTheClientsWindowOpens) {
  Recorder events;
  H2Connection server({}, events);
  Client client(/*auto_window=*/false);
  client.request("GET", "/big");
  pump(client, server);
  std::string payload(size_t{1024} * 1024, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(server.submit_response(1, 200, {}, true).ok());
  size_t queued = server.submit_body(1, bytes(payload));
  EXPECT_EQ(queued, 64u * 1024);  // H2Settings::max_queued_body_bytes
  pump(client, server);
  EXPECT_EQ(client.streams[1].body.size(), 65535u);
  pump(client, server);  // nothing consumed: nothing more moves
  EXPECT_EQ(client.streams[1].body.size(), 65535u);
  size_t consumed = 0;
  while (!client.streams[1].closed) {
    const size_t received = client.streams[1].body.size();
    ASSERT_GT(received, consumed) << "stalled with the window open";
    client.consume(1, received - consumed);
    consumed = received;
    queued += server.submit_body(1, {payload.data() + queued, payload.size() - queued});
    if (queued == payload.size()) server.end_stream(1, {});
    pump(client, server);
  }
  EXPECT_EQ(client.streams[1].body, payload);
  EXPECT_NE(std::find(events.log.begin(), events.log.end(), "room 1"), events.log.end());
}

// Without consume() the server sends no WINDOW_UPDATE: a client is never more than the initial
// window ahead of the backend.
TEST(H2Connection, RequestBodyMovesOnlyAsTheBackendConsumes) {
  Recorder events;
  H2Settings settings;
  settings.initial_window_size = 16384;
  H2Connection server(settings, events);
  Client client;
  pump(client, server);  // the client learns the window first
  const std::string body(100000, 'q');
  client.request("POST", "/", {}, &body);
  pump(client, server);
  EXPECT_EQ(events.bodies[1].size(), 16384u);
  size_t consumed = 0;
  while (events.log.back() != "end 1") {
    const size_t received = events.bodies[1].size();
    ASSERT_GT(received, consumed) << "stalled with the window open";
    server.consume(1, received - consumed);
    consumed = received;
    pump(client, server);
  }
  EXPECT_EQ(events.bodies[1], body);
}

void expect_reset_without_head(const h2_test::Pairs& extra) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/", extra);
  pump(client, server);
  EXPECT_TRUE(events.heads.empty());
  EXPECT_TRUE(events.log.empty());
  EXPECT_TRUE(client.streams[1].closed);
  EXPECT_EQ(client.streams[1].error_code, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
}

TEST(H2Connection, UppercaseFieldNameIsResetWithProtocolErrorAndNeverAnnounced) {
  expect_reset_without_head({{"X-Upper", "1"}});
}

TEST(H2Connection, ConnectionFieldIsResetWithProtocolErrorAndNeverAnnounced) {
  expect_reset_without_head({{"connection", "keep-alive"}});
}

TEST(H2Connection, TeOtherThanTrailersIsResetWithProtocolError) {
  expect_reset_without_head({{"te", "gzip"}});
}

TEST(H2Connection, StreamsOverMaxConcurrentStreamsAreRefused) {
  Recorder events;
  H2Settings settings;
  settings.max_concurrent_streams = 2;
  H2Connection server(settings, events);
  Client client;  // sends all three before it hears the server's limit
  client.request("GET", "/1");
  client.request("GET", "/2");
  client.request("GET", "/3");
  pump(client, server);
  EXPECT_EQ(events.heads.size(), 2u);
  EXPECT_EQ(events.heads.count(5), 0u);
  EXPECT_TRUE(client.streams[5].closed);
  EXPECT_EQ(client.streams[5].error_code, static_cast<uint32_t>(NGHTTP2_REFUSED_STREAM));
}

TEST(H2Connection, HeaderListOverTheLimitIsAnswered431AndNeverAnnounced) {
  Recorder events;
  H2Settings settings;
  settings.max_header_list_size = 1024;
  H2Connection server(settings, events);
  Client client;
  client.request("GET", "/", {{"x-big", std::string(2000, 'b')}});
  pump(client, server);
  EXPECT_TRUE(events.log.empty());
  EXPECT_EQ(find(client.streams[1].headers, ":status"), "431");
  EXPECT_TRUE(client.streams[1].closed);
  // The same on a stream whose body is still coming: the answer ends it, nothing is forwarded.
  const std::string body(5000, 'x');
  client.request("POST", "/", {{"x-big", std::string(2000, 'b')}}, &body);
  pump(client, server);
  EXPECT_TRUE(events.log.empty());
  EXPECT_EQ(find(client.streams[3].headers, ":status"), "431");
  EXPECT_TRUE(client.streams[3].closed);
}

TEST(H2Connection, ResetByTheClientClosesTheStreamWithItsCode) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/");
  pump(client, server);
  nghttp2_submit_rst_stream(client.session, NGHTTP2_FLAG_NONE, 1, NGHTTP2_CANCEL);
  pump(client, server);
  EXPECT_EQ(events.closed.at(1), static_cast<uint32_t>(NGHTTP2_CANCEL));
  EXPECT_EQ(events.log.back(), "closed 1");
}

TEST(H2Connection, ResetByTheServerReachesTheClient) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/");
  pump(client, server);
  ASSERT_TRUE(server.reset_stream(1, NGHTTP2_INTERNAL_ERROR).ok());
  pump(client, server);
  EXPECT_EQ(client.streams[1].error_code, static_cast<uint32_t>(NGHTTP2_INTERNAL_ERROR));
  EXPECT_EQ(events.closed.at(1), static_cast<uint32_t>(NGHTTP2_INTERNAL_ERROR));
}

TEST(H2Connection, GoawayFromTheClientIsAnnounced) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  pump(client, server);
  nghttp2_submit_goaway(client.session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
  pump(client, server);
  EXPECT_EQ(events.log, (std::vector<std::string>{"goaway 0"}));
}

TEST(H2Connection, GracefulGoawayLetsTheStreamInFlightFinishThenTheConnectionIsDone) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/");
  pump(client, server);
  ASSERT_EQ(server.last_client_stream(), 1);
  ASSERT_TRUE(server.goaway(server.last_client_stream()).ok());
  pump(client, server);
  EXPECT_FALSE(server.finished());  // stream 1 still owes its response
  ASSERT_TRUE(server.submit_response(1, 204, {}, false).ok());
  pump(client, server);
  EXPECT_TRUE(client.streams.at(1).closed);
  EXPECT_TRUE(server.finished());
}

TEST(H2Connection, GarbageInsteadOfThePrefaceIsAnError) {
  Recorder events;
  H2Connection server({}, events);
  const std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_FALSE(server.receive(bytes(garbage)).ok());
}

}  // namespace
}  // namespace ringlb::http
