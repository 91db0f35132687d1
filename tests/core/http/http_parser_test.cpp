// The HTTP/1.x parser's streaming contract: heads re-presented until whole, body slices,
// pipelining, limits and reset. The hardening rows, the CVE vectors and responses have files
// of their own (http_parser_hardening_test.cpp, http_parser_cve_test.cpp,
// http_parser_response_test.cpp).
#include "core/http/http_parser.hpp"

#include <gtest/gtest.h>

#include <string>

#include "http_parser_test_support.hpp"

namespace ringlb::http {
namespace {

using namespace parser_test;

// --- The basics ----------------------------------------------------------------------------

TEST(HttpParser, SimpleGet) {
  Parser parser = request_parser();
  const std::string input = "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  const Outcome result = run(parser, input);
  EXPECT_EQ(result.events, (Events{kHead, kDone}));
  EXPECT_EQ(result.consumed, input.size());
  const Head& head = parser.head();
  EXPECT_TRUE(head.is_request());
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/a?b=c");
  EXPECT_EQ(head.host, "example.com");
  EXPECT_EQ(head.version, 11u);
  EXPECT_EQ(head.framing, Framing::kNone);
  EXPECT_TRUE(head.keep_alive);
  ASSERT_EQ(head.fields.size(), 1u);  // Host is not among the forwarded fields
  EXPECT_EQ(head.fields[0].name, "Accept");
  EXPECT_EQ(head.fields[0].value, "*/*");
  EXPECT_EQ(head.find("accept"), "*/*");
  EXPECT_TRUE(parser.head_done());
}

TEST(HttpParser, FieldNamesKeepTheirCaseAndValuesAreTrimmed) {
  Parser parser = request_parser();
  run(parser, get_with("X-Custom-ID:   v a l  \t\r\n"));
  ASSERT_EQ(parser.head().fields.size(), 1u);
  EXPECT_EQ(parser.head().fields[0].name, "X-Custom-ID");
  EXPECT_EQ(parser.head().fields[0].value, "v a l");
}

TEST(HttpParser, KeepAliveFollowsTheVersionAndConnection) {
  struct Case {
    std::string input;
    bool keep_alive;
  };
  const std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    Parser parser = request_parser();
    EXPECT_EQ(run(parser, c.input).events.front(), kHead) << c.input;
    EXPECT_EQ(parser.head().keep_alive, c.keep_alive) << c.input;
    EXPECT_FALSE(has_field(parser.head(), "Connection"));
  }
}

TEST(HttpParser, Http10WithoutHostIsFine) {
  Parser parser = request_parser();
  EXPECT_EQ(run(parser, "GET / HTTP/1.0\r\n\r\n").events, (Events{kHead, kDone}));
  EXPECT_EQ(parser.head().version, 10u);
  EXPECT_EQ(parser.head().host, "");
}

TEST(HttpParser, PipelinedRequestsComeOneAfterTheOther) {
  Parser parser = request_parser();
  const std::string first = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string second = "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  const std::string input = first + second;
  size_t consumed = 0;
  EXPECT_EQ(parser.parse(input, consumed), kHead);
  EXPECT_EQ(consumed, first.size());
  EXPECT_EQ(parser.head().target, "/1");
  EXPECT_EQ(parser.parse(std::string_view(input).substr(first.size()), consumed), kDone);
  EXPECT_EQ(consumed, 0u);

  parser.reset();
  const Outcome result = run(parser, std::string_view(input).substr(first.size()));
  EXPECT_EQ(result.events, (Events{kHead, kBody, kDone}));
  EXPECT_EQ(result.consumed, second.size());
  EXPECT_EQ(result.body, "abc");
  EXPECT_EQ(parser.head().target, "/2");
}

TEST(HttpParser, HeadArrivingByteByByteIsConsumedOnlyWhenComplete) {
  Parser parser = request_parser();
  const std::string input = "GET /slow HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n";
  for (size_t end = 0; end < input.size(); ++end) {
    size_t consumed = 99;
    ASSERT_EQ(parser.parse(std::string_view(input).substr(0, end), consumed), kNeedMore) << end;
    ASSERT_EQ(consumed, 0u);
  }
  size_t consumed = 0;
  EXPECT_EQ(parser.parse(input, consumed), kHead);
  EXPECT_EQ(consumed, input.size());
  EXPECT_EQ(parser.head().target, "/slow");
  EXPECT_EQ(parser.head().find("X-A"), "1");
}

TEST(HttpParser, ContentLengthBodySplitAcrossCalls) {
  Parser parser = request_parser();
  const std::string head = post_with("Content-Length: 10\r\n");
  size_t consumed = 0;
  ASSERT_EQ(parser.parse(head, consumed), kHead);
  EXPECT_EQ(parser.head().framing, Framing::kContentLength);
  EXPECT_EQ(parser.head().content_length, 10u);
  EXPECT_EQ(parser.parse("", consumed), kNeedMore);
  EXPECT_EQ(parser.parse("0123", consumed), kBody);
  EXPECT_EQ(consumed, 4u);
  EXPECT_EQ(parser.body(), "0123");
  EXPECT_EQ(parser.parse("", consumed), kNeedMore);
  EXPECT_EQ(parser.parse("456789GET", consumed), kBody);
  EXPECT_EQ(consumed, 6u);
  EXPECT_EQ(parser.body(), "456789");
  EXPECT_EQ(parser.parse("GET", consumed), kDone);
  EXPECT_EQ(consumed, 0u);
}

TEST(HttpParser, ChunkedBodyOfSeveralChunksIsDeliveredUnframed) {
  Parser parser = request_parser();
  const std::string input = post_with("Transfer-Encoding: chunked\r\n",
                                      "5;name=value\r\nhello\r\n"
                                      "1\r\n \r\n"
                                      "6; a=\"q;d\" ; b\r\nworld!\r\n"
                                      "0;last\r\nX-Trailer: t\r\n\r\n") +
                            "GET";
  const Outcome result = run(parser, input);
  EXPECT_EQ(result.events, (Events{kHead, kBody, kBody, kBody, kDone}));
  EXPECT_EQ(result.body, "hello world!");
  EXPECT_EQ(result.consumed, input.size() - 3);
  EXPECT_EQ(parser.head().framing, Framing::kChunked);
  EXPECT_FALSE(has_field(parser.head(), "Transfer-Encoding"));
  EXPECT_FALSE(has_field(parser.head(), "X-Trailer")) << "trailers are dropped";
}

TEST(HttpParser, ChunkedBodyFedByteByByteLosesNothing) {
  Parser parser = request_parser();
  const std::string input = post_with("Transfer-Encoding: chunked\r\n",
                                      "3\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n");
  std::string pending;
  std::string body;
  bool head = false;
  bool done = false;
  for (char c : input) {
    pending += c;
    for (;;) {
      size_t consumed = 0;
      const ParseEvent event = parser.parse(pending, consumed);
      ASSERT_NE(event, kError) << parser.error().reason;
      ASSERT_LE(consumed, pending.size());
      if (event == kHead) head = true;
      if (event == kBody) body += parser.body();
      pending.erase(0, consumed);
      if (event == kDone) done = true;
      if (event == kNeedMore || event == kDone) break;
    }
  }
  EXPECT_TRUE(head);
  EXPECT_TRUE(done);
  EXPECT_EQ(body, "abc0123456789");
  EXPECT_TRUE(pending.empty());
}

TEST(HttpParser, BodyOverTheLimitIs413) {
  ParserLimits limits;
  limits.max_body_bytes = 8;
  EXPECT_EQ(request_status(post_with("Content-Length: 9\r\n", "123456789"), limits), 413u);
  EXPECT_EQ(request_status(post_with("Content-Length: 8\r\n", "12345678"), limits), 0u);
  const std::string chunked = post_with("Transfer-Encoding: chunked\r\n", "5\r\n12345\r\n4\r\n");
  Parser parser = request_parser(limits);
  const Outcome result = run(parser, chunked);
  EXPECT_EQ(result.events, (Events{kHead, kBody, kError}));
  EXPECT_EQ(parser.error().status, 413u);
}

TEST(HttpParser, ResetKeepsItsMemory) {
  Parser parser = request_parser();
  const std::string input = get_with("A: 1\r\nB: 2\r\n");
  run(parser, input);
  const Field* fields = parser.head().fields.data();
  for (int i = 0; i < 3; ++i) {
    parser.reset();
    EXPECT_EQ(run(parser, input).events, (Events{kHead, kDone}));
    EXPECT_EQ(parser.head().fields.data(), fields);
    EXPECT_EQ(parser.head().find("B"), "2");
  }
}

TEST(HttpParser, LeadingBlankLinesBeforeARequestAreSkipped) {
  Parser parser = request_parser();
  const std::string input = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  const Outcome result = run(parser, input);
  EXPECT_EQ(result.events, (Events{kHead, kDone}));
  EXPECT_EQ(result.consumed, input.size());
}

TEST(HttpParser, SetLimitsAppliesToTheNextMessage) {
  Parser parser = request_parser();
  ParserLimits limits;
  limits.max_header_bytes = 64;
  parser.set_limits(limits);
  EXPECT_EQ(run(parser, get_with("X: " + std::string(100, 'a') + "\r\n")).events.back(), kError);
  EXPECT_EQ(parser.error().status, 431u);
}

}  // namespace
}  // namespace ringlb::http
