// Issue 18 item 5, the checks of a request head that nghttp2 does not make (and one it does, pinned
// here so an upgrade that drops it is noticed): each refused stream is answered or reset before
// any event names it, and a content-length that disagrees with the DATA never ends a request.
#include "core/http/h2_connection.hpp"
#include "h2_connection_test_support.hpp"

namespace ringlb::http {
namespace {

using h2_test::Client;
using h2_test::find;
using h2_test::Pairs;
using h2_test::pump;
using h2_test::Recorder;

void expect_answered_without_head(const Pairs& fields, const std::string& status) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  const int32_t id = client.request_exactly(fields);
  pump(client, server);
  EXPECT_TRUE(events.log.empty());
  EXPECT_EQ(find(client.streams[id].headers, ":status"), status);
  EXPECT_TRUE(client.streams[id].closed);
}

// 400 rather than a reset: the head is complete, so the stream can still answer, and a 400 tells
// the client why (issue 18: "a 400 where a response is still possible").
TEST(H2Strict, AuthorityAndHostThatDisagreeAreAnswered400AndNeverAnnounced) {
  expect_answered_without_head({{":method", "GET"},
                                {":scheme", "https"},
                                {":path", "/"},
                                {":authority", "example.com"},
                                {"host", "evil.example"}},
                               "400");
}

TEST(H2Strict, AuthorityAndHostThatAgreeButForCaseAreServed) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/", {{"host", "EXAMPLE.com"}});
  pump(client, server);
  ASSERT_EQ(events.heads.size(), 1u);
  EXPECT_EQ(events.heads.at(1).authority, "example.com");
  EXPECT_EQ(find(events.heads.at(1).fields, "host"), "(absent)");
}

TEST(H2Strict, ConnectIsAnswered501AndNeverAnnounced) {
  expect_answered_without_head({{":method", "CONNECT"}, {":authority", "backend.internal:22"}},
                               "501");
}

// Extended CONNECT (RFC 8441) is not offered: SETTINGS_ENABLE_CONNECT_PROTOCOL is never sent, so
// nghttp2 resets a :protocol before any event.
TEST(H2Strict, ExtendedConnectIsResetAndNeverAnnounced) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  const int32_t id = client.request_exactly({{":method", "CONNECT"},
                                             {":protocol", "websocket"},
                                             {":scheme", "https"},
                                             {":path", "/chat"},
                                             {":authority", "example.com"}});
  pump(client, server);
  EXPECT_TRUE(events.log.empty());
  EXPECT_TRUE(client.streams[id].closed);
  EXPECT_EQ(client.streams[id].error_code, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
}

TEST(H2Strict, ConnectWithABodyIsAnswered501AndItsBytesGoNowhere) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  const std::string tunnel(3000, 't');
  const int32_t id =
      client.request_exactly({{":method", "CONNECT"}, {":authority", "backend:22"}}, &tunnel);
  pump(client, server);
  EXPECT_TRUE(events.log.empty());
  EXPECT_TRUE(events.bodies.empty());
  EXPECT_EQ(find(client.streams[id].headers, ":status"), "501");
}

// nghttp2 makes these checks (RFC 9113 §8.2.1); no invalid-header callback is installed, so the
// stream is reset rather than the field dropped.
void expect_reset_without_head(const std::string& value) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/", {{"x-injected", value}});
  pump(client, server);
  EXPECT_TRUE(events.log.empty());
  EXPECT_TRUE(client.streams[1].closed);
  EXPECT_EQ(client.streams[1].error_code, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
}

TEST(H2Strict, CarriageReturnInAValueIsResetAndNeverAnnounced) {
  expect_reset_without_head("a\rSet-Cookie: x=1");
}

TEST(H2Strict, LineFeedInAValueIsResetAndNeverAnnounced) {
  expect_reset_without_head("a\nSet-Cookie: x=1");
}

TEST(H2Strict, NulInAValueIsResetAndNeverAnnounced) {
  expect_reset_without_head(std::string("a\0b", 3));
}

// The H2.CL desync class: the head is announced (it came first), then the stream is reset with
// PROTOCOL_ERROR, and no end-of-request event lets the body pass as complete.
TEST(H2Strict, MoreDataThanContentLengthIsResetAndNeverEnds) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  const std::string body = std::string(10, 'a') + "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
  client.request("POST", "/", {{"content-length", "10"}}, &body);
  pump(client, server);
  EXPECT_LE(events.bodies[1].size(), 10u);  // nothing past the content-length is delivered
  EXPECT_EQ(events.bodies[1].find("GET"), std::string::npos);
  EXPECT_EQ(events.closed.at(1), static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
  EXPECT_EQ(std::count(events.log.begin(), events.log.end(), "end 1"), 0);
  EXPECT_EQ(client.streams[1].error_code, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
}

TEST(H2Strict, LessDataThanContentLengthIsResetAndNeverEnds) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  const std::string body(10, 'a');
  client.request("POST", "/", {{"content-length", "3000"}}, &body);
  pump(client, server);
  EXPECT_EQ(events.closed.at(1), static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
  EXPECT_EQ(std::count(events.log.begin(), events.log.end(), "end 1"), 0);
  EXPECT_EQ(client.streams[1].error_code, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
}

TEST(H2Strict, CookieCrumbsAreJoinedIntoOneField) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/",
                 {{"cookie", "a=1"}, {"accept", "*/*"}, {"cookie", "b=2"}, {"cookie", "c=3"}});
  pump(client, server);
  ASSERT_EQ(events.heads.size(), 1u);
  EXPECT_EQ(events.heads.at(1).fields, (Pairs{{"cookie", "a=1; b=2; c=3"}, {"accept", "*/*"}}));
}

TEST(H2Strict, OneCookieIsPassedAsItCame) {
  Recorder events;
  H2Connection server({}, events);
  Client client;
  client.request("GET", "/", {{"cookie", "a=1; b=2"}});
  pump(client, server);
  ASSERT_EQ(events.heads.size(), 1u);
  EXPECT_EQ(events.heads.at(1).fields, (Pairs{{"cookie", "a=1; b=2"}}));
}

}  // namespace
}  // namespace ringlb::http
