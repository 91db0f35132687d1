// The HTTP/1.x parser reading backend responses: framing, bodiless answers, interim and
// switching responses, and the bad responses that become a 502.
#include <gtest/gtest.h>

#include <string>

#include "core/http/http_parser.hpp"
#include "http_parser_test_support.hpp"

namespace ringlb::http {
namespace {

using namespace parser_test;

// --- Responses -----------------------------------------------------------------------------

TEST(HttpResponse, ContentLength) {
  Parser parser = response_parser();
  const Outcome result =
      run(parser, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nServer: s\r\n\r\nbody");
  EXPECT_EQ(result.events, (Events{kHead, kBody, kDone}));
  EXPECT_EQ(result.body, "body");
  const Head& head = parser.head();
  EXPECT_FALSE(head.is_request());
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.reason, "OK");
  EXPECT_EQ(head.framing, Framing::kContentLength);
  EXPECT_TRUE(head.keep_alive);
  ASSERT_EQ(head.fields.size(), 1u);
  EXPECT_EQ(head.fields[0].name, "Server");
}

TEST(HttpResponse, Chunked) {
  Parser parser = response_parser();
  const Outcome result = run(parser,
                             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "2\r\nab\r\n3;x=y\r\ncde\r\n0\r\n\r\n");
  EXPECT_EQ(result.events, (Events{kHead, kBody, kBody, kDone}));
  EXPECT_EQ(result.body, "abcde");
  EXPECT_EQ(parser.head().framing, Framing::kChunked);
}

TEST(HttpResponse, UntilCloseEndsWithFinishOnClose) {
  Parser parser = response_parser();
  const Outcome result = run(parser, "HTTP/1.1 200 OK\r\n\r\nsome bytes");
  EXPECT_EQ(result.events, (Events{kHead, kBody, kNeedMore}));
  EXPECT_EQ(result.body, "some bytes");
  EXPECT_EQ(parser.head().framing, Framing::kUntilClose);
  EXPECT_FALSE(parser.head().keep_alive);
  EXPECT_EQ(parser.finish_on_close(), kDone);
}

TEST(HttpResponse, CloseBeforeTheEndIsAnError) {
  Parser cl = response_parser();
  run(cl, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(cl.finish_on_close(), kError);
  EXPECT_EQ(cl.error().status, 502u);
  Parser chunked = response_parser();
  run(chunked, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
  EXPECT_EQ(chunked.finish_on_close(), kError);
  Parser no_head = response_parser();
  run(no_head, "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(no_head.finish_on_close(), kError);
  Parser complete = response_parser();
  run(complete, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(complete.finish_on_close(), kDone);
}

TEST(HttpResponse, ResponseToHeadHasNoBody) {
  Parser parser = response_parser();
  parser.expect_no_body(true);
  const std::string input = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  const Outcome result = run(parser, input + "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(result.events, (Events{kHead, kDone}));
  EXPECT_EQ(result.consumed, input.size());
  EXPECT_EQ(parser.head().framing, Framing::kNone);
  EXPECT_TRUE(parser.head().declares_length) << "RFC 9110 §9.3.2: the length a GET would get";
  EXPECT_EQ(parser.head().content_length, 100u);
  parser.reset();
  const Outcome next = run(parser, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(next.events, (Events{kHead, kBody, kDone})) << "reset() forgets expect_no_body";
}

TEST(HttpResponse, ContinueThenFinal) {
  Parser parser = response_parser();
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string input = interim + "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  const Outcome first = run(parser, input);
  EXPECT_EQ(first.events, (Events{kHead, kDone}));
  EXPECT_EQ(first.consumed, interim.size());
  EXPECT_EQ(parser.head().status, 100u);
  parser.reset();
  const Outcome final = run(parser, std::string_view(input).substr(interim.size()));
  EXPECT_EQ(final.events, (Events{kHead, kBody, kDone}));
  EXPECT_EQ(parser.head().status, 201u);
  EXPECT_EQ(final.body, "ok");
}

TEST(HttpResponse, SwitchingProtocols) {
  Parser parser = response_parser();
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: a\r\n\r\n";
  const Outcome result = run(parser, head + "\x81\x05hello");
  EXPECT_EQ(result.events, (Events{kHead, kDone}));
  EXPECT_EQ(result.consumed, head.size()) << "the tunnel bytes are not the parser's";
  EXPECT_TRUE(parser.head().upgrade_websocket);
  EXPECT_EQ(parser.head().upgrade, "websocket");
}

TEST(HttpResponse, NoContentAndNotModifiedHaveNoBody) {
  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    Parser parser = response_parser();
    const std::string head = "HTTP/1.1 " + std::string(status) + "\r\nContent-Length: 5\r\n\r\n";
    const Outcome result = run(parser, head + "HTTP/1.1 200 OK\r\n");
    EXPECT_EQ(result.events, (Events{kHead, kDone})) << status;
    EXPECT_EQ(result.consumed, head.size());
    EXPECT_EQ(parser.head().framing, Framing::kNone);
    EXPECT_EQ(parser.head().declares_length, status[0] == '3') << "a 304 keeps it, a 204 not";
  }
}

TEST(HttpResponse, BadResponsesAre502) {
  EXPECT_EQ(response_status("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: "
                            "chunked\r\n\r\n"),
            502u);
  EXPECT_EQ(response_status("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: "
                            "3\r\n\r\n"),
            502u);
  EXPECT_EQ(response_status("HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("garbage\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/2.0 200 OK\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/1.1 099 Low\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/1.1 600 High\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n"), 502u);
  EXPECT_EQ(response_status("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), 0u);
}

TEST(HttpResponse, HopByHopFieldsAreRemoved) {
  Parser parser = response_parser();
  run(parser,
      "HTTP/1.1 200 OK\r\nConnection: close, X-Internal\r\nX-Internal: 1\r\n"
      "Keep-Alive: timeout=5\r\nContent-Length: 0\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\r\n");
  EXPECT_FALSE(parser.head().keep_alive);
  ASSERT_EQ(parser.head().fields.size(), 2u);
  EXPECT_EQ(parser.head().fields[1].value, "b");
}

}  // namespace
}  // namespace ringlb::http
