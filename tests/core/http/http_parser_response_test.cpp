// The HTTP/1.x parser reading backend responses: framing, bodiless answers, interim and
// switching responses, the bad responses that become a 502, and the trailers kept for HTTP/2.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

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

// A spliced body (core/proxy/http_session_splice.cpp): the parser says how much of a
// Content-Length body is left, and is told when the rest went by without it.
TEST(HttpResponse, RestOfBodySkippedEndsTheMessage) {
  Parser parser = response_parser();
  const Outcome start = run(parser, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(start.events, (Events{kHead, kBody, kNeedMore}));
  EXPECT_EQ(parser.body_remaining(), 7u);
  parser.skip_rest_of_body();
  EXPECT_EQ(parser.body_remaining(), 0u);
  EXPECT_EQ(run(parser, "").events, (Events{kDone}));
  parser.reset();  // the next response on the connection parses from its first byte
  const Outcome next = run(parser, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(next.events, (Events{kHead, kBody, kDone}));
  EXPECT_EQ(next.body, "ok");
}

TEST(HttpResponse, OnlyContentLengthBodiesHaveARemainder) {
  Parser chunked = response_parser();
  run(chunked, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(chunked.body_remaining(), 0u);
  Parser until_close = response_parser();
  run(until_close, "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(until_close.body_remaining(), 0u);
  Parser head = response_parser();
  head.expect_no_body(true);
  run(head, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  EXPECT_EQ(head.body_remaining(), 0u);
  Parser whole = response_parser();
  run(whole, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(whole.body_remaining(), 0u);
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

// --- Trailers (kept for HTTP/2 clients, issue 18) ------------------------------------------

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs trailers_of(const Parser& parser) {
  Pairs pairs;
  for (const Field& field : parser.trailers()) pairs.emplace_back(field.name, field.value);
  return pairs;
}

Parser response_parser_with(ParserLimits limits) { return Parser(Parser::Kind::kResponse, limits); }

const std::string kChunkedHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

// A caller whose bytes arrive one at a time: it keeps what parse() did not consume and presents
// it again with the next byte appended. Then it scribbles over its buffer, which the parser's
// views must not point into.
Outcome run_byte_by_byte(Parser& parser, std::string_view input) {
  Outcome result;
  std::string pending;
  for (const char byte : input) {
    pending += byte;
    for (;;) {
      size_t consumed = 0;
      const ParseEvent event = parser.parse(pending, consumed);
      if (event == kBody) result.body += parser.body();
      pending.erase(0, consumed);
      result.consumed += consumed;
      if (event != kHead && event != kBody) result.events.push_back(event);
      if (event == kDone || event == kError) {
        pending.assign(pending.capacity(), '#');
        return result;
      }
      if (event == kNeedMore) break;
    }
  }
  return result;
}

TEST(HttpResponseTrailers, KeptInOrderAfterTheLastChunk) {
  Parser parser = response_parser();
  const Outcome result = run(parser, kChunkedHead +
                                         "2\r\nab\r\n0\r\nGrpc-Status: 0\r\n"
                                         "grpc-message:  all good \r\nX-Checksum: c1\r\n"
                                         "X-Checksum: c2\r\n\r\n");
  EXPECT_EQ(result.events, (Events{kHead, kBody, kDone}));
  EXPECT_EQ(result.body, "ab");
  EXPECT_EQ(trailers_of(parser), (Pairs{{"Grpc-Status", "0"},
                                        {"grpc-message", "all good"},
                                        {"X-Checksum", "c1"},
                                        {"X-Checksum", "c2"}}));
  EXPECT_FALSE(has_field(parser.head(), "Grpc-Status")) << "never merged into the head";
}

TEST(HttpResponseTrailers, KeptWhenTheBytesArriveOneAtATime) {
  Parser parser = response_parser();
  const Outcome result = run_byte_by_byte(
      parser, kChunkedHead + "3\r\nabc\r\n0\r\nGrpc-Status: 13\r\nGrpc-Message: boom\r\n\r\n");
  EXPECT_EQ(result.events.back(), kDone);
  EXPECT_EQ(result.body, "abc");
  EXPECT_EQ(trailers_of(parser), (Pairs{{"Grpc-Status", "13"}, {"Grpc-Message", "boom"}}));
}

TEST(HttpResponseTrailers, BoundedByMaxHeaderBytes) {
  ParserLimits limits;
  limits.max_header_bytes = 256;
  // The trailer section, blank line included, may take max_header_bytes like a head.
  const auto section = [](size_t value_bytes) {
    return "X-T: " + std::string(value_bytes, 't') + "\r\n\r\n";
  };
  ASSERT_EQ(section(247).size(), 256u);
  Parser at_bound = response_parser_with(limits);
  EXPECT_EQ(run(at_bound, kChunkedHead + "1\r\na\r\n0\r\n" + section(247)).events.back(), kDone);
  ASSERT_EQ(at_bound.trailers().size(), 1u);
  EXPECT_EQ(at_bound.trailers()[0].value.size(), 247u);

  Parser over = response_parser_with(limits);
  EXPECT_EQ(run(over, kChunkedHead + "1\r\na\r\n0\r\n" + section(248)).events.back(), kError);
  EXPECT_EQ(over.error().status, 502u);
  EXPECT_TRUE(over.trailers().empty());
  // Many small fields count together, and the parser refuses before the section ends.
  std::string many;
  while (many.size() <= 256) many += "X-N: n\r\n";
  Parser cut_off = response_parser_with(limits);
  EXPECT_EQ(run(cut_off, kChunkedHead + "0\r\n" + many).events.back(), kError);
  EXPECT_EQ(cut_off.error().status, 502u);
  // One field over 64 KiB is refused as in a head, however large the bound.
  limits.max_header_bytes = 256 * 1024;
  Parser huge_field = response_parser_with(limits);
  EXPECT_EQ(run(huge_field, kChunkedHead + "0\r\n" + section(70 * 1024)).events.back(), kError);
  EXPECT_EQ(huge_field.error().status, 502u);
}

TEST(HttpResponseTrailers, InvalidFieldsAreRefusedAsInAHead) {
  for (const std::string& bad :
       {std::string("X-T: a\0b\r\n", 10), std::string("X T: a\r\n"), std::string("X-T: a\rb\r\n"),
        std::string("X-T: a\r\n b\r\n"), std::string("X-T: a\nY: b\r\n"), std::string(": a\r\n")}) {
    Parser parser = response_parser();
    EXPECT_EQ(run(parser, kChunkedHead + "0\r\n" + bad + "\r\n").events.back(), kError) << bad;
    EXPECT_EQ(parser.error().status, 502u) << bad;
    EXPECT_TRUE(parser.trailers().empty()) << bad;
  }
}

TEST(HttpResponseTrailers, HopByHopAndFramingFieldsAreLeftOut) {
  Parser parser = response_parser();
  run(parser,
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: X-Hop\r\n"
      "Trailer: Grpc-Status\r\n\r\n0\r\nConnection: close\r\nKeep-Alive: timeout=5\r\n"
      "Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\nTrailer: X\r\n"
      "HTTP2-Settings: AAA\r\nX-Hop: 1\r\nHost: h\r\nGrpc-Status: 0\r\n\r\n");
  EXPECT_EQ(trailers_of(parser), (Pairs{{"Grpc-Status", "0"}}));
  EXPECT_TRUE(parser.head().keep_alive) << "a Connection trailer changes nothing";
  // Framing fields in the trailers are refused outright, as for requests (row 17).
  for (const char* framing : {"Content-Length: 5", "Transfer-Encoding: chunked"}) {
    Parser refused = response_parser();
    EXPECT_EQ(run(refused, kChunkedHead + "0\r\n" + framing + "\r\n\r\n").events.back(), kError)
        << framing;
    EXPECT_TRUE(refused.trailers().empty()) << framing;
  }
}

TEST(HttpResponseTrailers, NoneWithoutChunkedTrailers) {
  Parser length = response_parser();
  // What follows the body is the next message, never trailers.
  run(length, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokX-T: t\r\n\r\n");
  EXPECT_TRUE(length.trailers().empty());
  Parser until_close = response_parser();
  run(until_close, "HTTP/1.1 200 OK\r\n\r\nbody\r\n0\r\nX-T: t\r\n\r\n");
  EXPECT_EQ(until_close.finish_on_close(), kDone);
  EXPECT_TRUE(until_close.trailers().empty());
  Parser chunked = response_parser();
  EXPECT_EQ(run(chunked, kChunkedHead + "1\r\na\r\n0\r\n\r\n").events.back(), kDone);
  EXPECT_TRUE(chunked.trailers().empty());
}

TEST(HttpResponseTrailers, ResetForgetsThem) {
  Parser parser = response_parser();
  run(parser, kChunkedHead + "0\r\nGrpc-Status: 0\r\n\r\n");
  ASSERT_EQ(parser.trailers().size(), 1u);
  parser.reset();
  EXPECT_TRUE(parser.trailers().empty());
  run(parser, kChunkedHead + "1\r\na\r\n0\r\n\r\n");
  EXPECT_TRUE(parser.trailers().empty()) << "the previous message's do not come back";
  parser.reset();
  run(parser, kChunkedHead + "0\r\nGrpc-Status: 5\r\n\r\n");
  EXPECT_EQ(trailers_of(parser), (Pairs{{"Grpc-Status", "5"}}));
}

TEST(HttpResponseTrailers, RequestsStillDropTheirs) {
  Parser parser = request_parser();
  const Outcome result = run(
      parser, post_with("Transfer-Encoding: chunked\r\n", "1\r\na\r\n0\r\nGrpc-Status: 0\r\n\r\n"));
  EXPECT_EQ(result.events.back(), kDone);
  EXPECT_TRUE(parser.trailers().empty());
  EXPECT_FALSE(has_field(parser.head(), "Grpc-Status"));
}

}  // namespace
}  // namespace ringlb::http
