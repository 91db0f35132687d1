// The HTTP/1.x parser: every row of docs/http-hardening.md as a vector with the exact status the
// proxy answers, plus the streaming contract (heads re-presented, body slices, pipelining,
// responses).
#include "core/http/http_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringlb::http {
namespace {

using Events = std::vector<ParseEvent>;
constexpr ParseEvent kNeedMore = ParseEvent::kNeedMore;
constexpr ParseEvent kHead = ParseEvent::kHead;
constexpr ParseEvent kBody = ParseEvent::kBody;
constexpr ParseEvent kDone = ParseEvent::kDone;
constexpr ParseEvent kError = ParseEvent::kError;

// What a caller that holds all of `input` at once sees: events up to kDone, kError or kNeedMore.
struct Outcome {
  Events events;
  std::string body;
  size_t consumed = 0;
};

Outcome run(Parser& parser, std::string_view input) {
  Outcome result;
  for (;;) {
    size_t consumed = 0;
    const ParseEvent event = parser.parse(input.substr(result.consumed), consumed);
    EXPECT_LE(consumed, input.size() - result.consumed);
    if (event == kError) {
      EXPECT_EQ(consumed, 0u) << "kError claims no bytes";
    }
    result.consumed += consumed;
    result.events.push_back(event);
    if (event == kBody) result.body += parser.body();
    if (event == kNeedMore || event == kDone || event == kError) return result;
  }
}

Parser request_parser(ParserLimits limits = {}) { return Parser(Parser::Kind::kRequest, limits); }
Parser response_parser() { return Parser(Parser::Kind::kResponse, {}); }

// The status the proxy answers for this request; 0 if it was accepted.
unsigned request_status(std::string_view input, ParserLimits limits = {}) {
  Parser parser(Parser::Kind::kRequest, limits);
  const Outcome result = run(parser, input);
  if (result.events.back() != kError) return 0;
  return parser.error().status;
}

unsigned response_status(std::string_view input, bool head_request = false) {
  Parser parser(Parser::Kind::kResponse, {});
  parser.expect_no_body(head_request);
  const Outcome result = run(parser, input);
  return result.events.back() == kError ? parser.error().status : 0;
}

std::string get_with(std::string_view fields) {
  return "GET / HTTP/1.1\r\nHost: h\r\n" + std::string(fields) + "\r\n";
}

std::string post_with(std::string_view fields, std::string_view body = "") {
  return "POST /p HTTP/1.1\r\nHost: h\r\n" + std::string(fields) + "\r\n" + std::string(body);
}

bool has_field(const Head& head, std::string_view name) {
  for (const Field& field : head.fields) {
    if (iequals(field.name, name)) return true;
  }
  return false;
}

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

// --- docs/http-hardening.md, row by row ----------------------------------------------------

TEST(HttpHardening, ContentLengthWithChunkedIs400InEitherOrder) {
  EXPECT_EQ(request_status(post_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")), 400u);
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")), 400u);
  Parser parser = request_parser();
  run(parser, post_with("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"));
  EXPECT_STREQ(parser.error().reason, "Content-Length with Transfer-Encoding");
}

TEST(HttpHardening, TransferEncodingGzipWithContentLengthIs400) {
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: gzip\r\nContent-Length: 5\r\n", "ab")),
            400u);
  EXPECT_EQ(request_status(post_with("Content-Length: 5\r\nTransfer-Encoding: gzip\r\n", "ab")),
            400u);
}

TEST(HttpHardening, TransferEncodingNotEndingInChunkedIs400) {
  // RFC 9112 §6.3 rule 4: the body length cannot be determined, a MUST for 400.
  for (const char* te : {"xchunked", "chunked, gzip", "identity", "gzip", "chunked;q=1", ""}) {
    EXPECT_EQ(request_status(post_with("Transfer-Encoding: " + std::string(te) + "\r\n")), 400u)
        << te;
  }
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")),
            400u);
}

TEST(HttpHardening, UnknownCodingBeforeChunkedIs501) {
  // RFC 9112 §6.1: framing is clear, but a coding we do not implement.
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: gzip, chunked\r\n")), 501u);
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")),
            501u);
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: identity, chunked\r\n")), 501u);
}

TEST(HttpHardening, ChunkedTwiceIs400) {
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked, chunked\r\n")), 400u);
  EXPECT_EQ(
      request_status(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
      400u);
}

TEST(HttpHardening, ExactlyChunkedIsAcceptedInAnyCase) {
  Parser parser = request_parser();
  EXPECT_EQ(run(parser, post_with("Transfer-Encoding: ChUnKeD\r\n", "0\r\n\r\n")).events,
            (Events{kHead, kDone}));
  EXPECT_EQ(parser.head().framing, Framing::kChunked);
}

TEST(HttpHardening, TransferEncodingInHttp10RequestIs400) {
  EXPECT_EQ(request_status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400u);
}

TEST(HttpHardening, ContentLengthsThatAgreeBecomeOneValue) {
  for (const char* fields :
       {"Content-Length: 5, 5\r\n", "Content-Length: 5\r\nContent-Length: 5\r\n"}) {
    Parser parser = request_parser();
    const Outcome result = run(parser, post_with(fields, "hello"));
    EXPECT_EQ(result.events, (Events{kHead, kBody, kDone})) << fields;
    EXPECT_EQ(parser.head().content_length, 5u);
    EXPECT_EQ(result.body, "hello");
    EXPECT_FALSE(has_field(parser.head(), "Content-Length")) << "the serializer writes one";
  }
}

TEST(HttpHardening, BadContentLengthIs400) {
  for (const char* value :
       {"5, 6", "", "+5", "0x5", "-1", "5 5", "5,", "99999999999999999999999"}) {
    EXPECT_EQ(request_status(post_with("Content-Length: " + std::string(value) + "\r\n")), 400u)
        << value;
  }
  EXPECT_EQ(request_status(post_with("Content-Length: 5\r\nContent-Length: 6\r\n")), 400u);
}

TEST(HttpHardening, ObsFoldIs400) {
  EXPECT_EQ(request_status(get_with("X-A: one\r\n two\r\n")), 400u);
  EXPECT_EQ(request_status(get_with("X-A: one\r\n\ttwo\r\n")), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400u);
}

TEST(HttpHardening, MissingOrRepeatedHostIs400) {
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 0u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: a:x\r\n\r\n"), 400u);
}

TEST(HttpHardening, AbsoluteFormIsRewrittenToOriginForm) {
  struct Case {
    std::string request_line;
    std::string target;
    std::string host;
  };
  const std::vector<Case> cases = {
      {"GET http://backend.example:8080/p/q?x=1 HTTP/1.1", "/p/q?x=1", "backend.example:8080"},
      {"GET HTTPS://h/ HTTP/1.1", "/", "h"},
      {"GET http://h HTTP/1.1", "/", "h"},
      {"GET http://h?q=1 HTTP/1.1", "/?q=1", "h"},
      {"OPTIONS http://h HTTP/1.1", "*", "h"},
  };
  for (const Case& c : cases) {
    Parser parser = request_parser();
    const Outcome result = run(parser, c.request_line + "\r\nHost: other\r\n\r\n");
    ASSERT_EQ(result.events.front(), kHead) << c.request_line << parser.error().reason;
    EXPECT_EQ(parser.head().target, c.target) << c.request_line;
    EXPECT_EQ(parser.head().host, c.host) << "the authority wins over Host";
  }
  EXPECT_EQ(request_status("GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
}

TEST(HttpHardening, ForbiddenTargetCharactersAre400) {
  for (const char* target :
       {"/a#b", "/a<b", "/a>b", "/a\"b", "/a{b", "/a}b", "/a|b", "/a\x80", "/\xff", "/a\x7f"}) {
    EXPECT_EQ(request_status("GET " + std::string(target) + " HTTP/1.1\r\nHost: h\r\n\r\n"), 400u)
        << target;
  }
  EXPECT_EQ(request_status("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET /a%7Cb?c=d&e HTTP/1.1\r\nHost: h\r\n\r\n"), 0u);
}

TEST(HttpHardening, AsteriskOnlyWithOptionsAndAuthorityFormOnlyWithConnect) {
  EXPECT_EQ(request_status("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  Parser parser = request_parser();
  EXPECT_EQ(run(parser, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").events, (Events{kHead, kDone}));
  EXPECT_EQ(parser.head().target, "*");
  EXPECT_EQ(request_status("GET h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  // ringlb does not tunnel CONNECT: 501 (405 would need an Allow list of what we do support).
  EXPECT_EQ(request_status("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n"), 501u);
}

TEST(HttpHardening, OneHugeHeaderValueIs431AndNeverThrows) {
  ParserLimits limits;
  limits.max_header_bytes =
      uint64_t{1024} * 1024;  // so that the per-field cap is the one that bites
  EXPECT_EQ(
      request_status(get_with("X-Big: " + std::string(size_t{70} * 1024, 'a') + "\r\n"), limits),
      431u);
  EXPECT_EQ(
      request_status(get_with("X-Big: " + std::string(size_t{60} * 1024, 'a') + "\r\n"), limits),
      0u);
}

TEST(HttpHardening, HeadOverTheLimitIs431AndRequestLineOverItIs414) {
  ParserLimits limits;
  limits.max_header_bytes = 1024;
  const std::string many_fields = get_with(std::string(40, 'X') + ": " + std::string(1000, 'v'));
  EXPECT_EQ(request_status(many_fields + "\r\n", limits), 431u);
  const std::string long_target = "GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  EXPECT_EQ(request_status(long_target, limits), 414u);
  // Still unfinished, but already over the limit: refused without waiting for the rest.
  EXPECT_EQ(request_status("GET /" + std::string(1100, 'a'), limits), 414u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nX: " + std::string(1100, 'a'), limits), 431u);
  // Exactly at the limit is fine.
  std::string exact = get_with("X: ");
  exact.insert(exact.size() - 2, std::string(1024 - exact.size() - 2, 'a') + "\r\n");
  ASSERT_EQ(exact.size(), 1024u);
  EXPECT_EQ(request_status(exact, limits), 0u);
}

TEST(HttpHardening, ChunkExtensionsAreCappedAndNeverForwarded) {
  const std::string long_ext = ";e=" + std::string(5000, 'x');
  EXPECT_EQ(
      request_status(post_with("Transfer-Encoding: chunked\r\n", "1" + long_ext + "\r\na\r\n")),
      400u);
  // Also while the line is still arriving.
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\r\n", "1" + long_ext)), 400u);
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\r\n",
                                     "1\r\na\r\n1" + long_ext + "\r\nb\r\n0\r\n\r\n")),
            400u);
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\r\n",
                                     "1;" + std::string(4000, 'x') + "\r\na\r\n0\r\n\r\n")),
            0u);
}

TEST(HttpHardening, TrailersAreDroppedAndCapped) {
  ParserLimits limits;
  limits.max_header_bytes = 256;
  const std::string big = "X-T: " + std::string(300, 't') + "\r\n";
  EXPECT_EQ(
      request_status(post_with("Transfer-Encoding: chunked\r\n", "1\r\na\r\n0\r\n" + big + "\r\n"),
                     limits),
      400u);
  // Cut off before the end: refused as soon as the trailers pass the cap.
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\r\n", "0\r\n" + big), limits),
            400u);
  Parser parser = request_parser(limits);
  const Outcome result = run(parser, post_with("Transfer-Encoding: chunked\r\n",
                                               "1\r\na\r\n0\r\nContent-Length: 5\r\n\r\n"));
  EXPECT_EQ(result.events.back(), kError) << "a framing field in the trailers is refused";
  Parser fine = request_parser(limits);
  EXPECT_EQ(run(fine, post_with("Transfer-Encoding: chunked\r\n", "1\r\na\r\n0\r\nX: y\r\n\r\n"))
                .events.back(),
            kDone);
  EXPECT_EQ(fine.head().find("X"), "");
}

TEST(HttpHardening, ExpectContinueIsReported) {
  Parser parser = request_parser();
  run(parser, post_with("Expect: 100-Continue\r\nContent-Length: 3\r\n"));
  EXPECT_TRUE(parser.head().expect_continue);
  EXPECT_EQ(parser.head().find("Expect"), "100-Continue") << "the backend must see it too";
  Parser http10 = request_parser();
  run(http10, "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  EXPECT_FALSE(http10.head().expect_continue) << "RFC 9110 §10.1.1: ignored in HTTP/1.0";
  Parser hidden = request_parser();
  run(hidden, post_with("Connection: Expect\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"));
  EXPECT_FALSE(hidden.head().expect_continue) << "not an expectation the backend would see";
}

TEST(HttpHardening, OnlyWebSocketUpgrades) {
  Parser ws = request_parser();
  EXPECT_EQ(run(ws, get_with("Connection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n"
                             "Sec-WebSocket-Key: k\r\n"))
                .events,
            (Events{kHead, kDone}));
  EXPECT_TRUE(ws.head().upgrade_websocket);
  EXPECT_EQ(ws.head().upgrade, "WebSocket");
  EXPECT_FALSE(has_field(ws.head(), "Upgrade"));
  EXPECT_FALSE(has_field(ws.head(), "Connection"));
  EXPECT_EQ(ws.head().find("Sec-WebSocket-Key"), "k");

  Parser h2c = request_parser();
  run(h2c, get_with("Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                    "HTTP2-Settings: AAMAAABkAAQAAP__\r\n"));
  EXPECT_FALSE(h2c.head().upgrade_websocket);
  EXPECT_EQ(h2c.head().upgrade, "");
  EXPECT_FALSE(has_field(h2c.head(), "Upgrade"));
  EXPECT_FALSE(has_field(h2c.head(), "HTTP2-Settings"));

  Parser no_connection = request_parser();
  run(no_connection, get_with("Upgrade: websocket\r\n"));
  EXPECT_FALSE(no_connection.head().upgrade_websocket);
  EXPECT_FALSE(has_field(no_connection.head(), "Upgrade"));

  Parser with_body = request_parser();
  run(with_body,
      post_with("Connection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 1\r\n", "x"));
  EXPECT_FALSE(with_body.head().upgrade_websocket) << "a body before a tunnel is refused";
}

TEST(HttpHardening, HopByHopFieldsAndThoseNamedInConnectionAreRemoved) {
  Parser parser = request_parser();
  run(parser, get_with("Connection: X-Forwarded-For, x-secret\r\nX-Forwarded-For: 6.6.6.6\r\n"
                       "X-Secret: s\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
                       "TE: trailers\r\nTrailer: X-T\r\nX-Kept: k\r\n"));
  ASSERT_EQ(parser.head().fields.size(), 1u);
  EXPECT_EQ(parser.head().fields[0].name, "X-Kept");
}

TEST(HttpHardening, TooManyConnectionOptionsIs400) {
  std::string options;
  for (int i = 0; i < 65; ++i) options += "o" + std::to_string(i) + ",";
  EXPECT_EQ(request_status(get_with("Connection: " + options + "\r\n")), 400u);
}

TEST(HttpHardening, VersionsOtherThan10And11Are505) {
  for (const char* version : {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"}) {
    EXPECT_EQ(request_status("GET / " + std::string(version) + "\r\nHost: h\r\n\r\n"), 505u)
        << version;
  }
  EXPECT_EQ(request_status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505u);
  EXPECT_EQ(request_status("GET / HTTP/1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTX/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET /\r\n\r\n"), 400u);
}

TEST(HttpHardening, MalformedSyntaxIs400) {
  EXPECT_EQ(request_status("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\nHost: h\n\n"), 400u) << "bare LF";
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: h\r\nBad Name: a\r\n\r\n"), 400u);
  EXPECT_EQ(request_status("GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n"), 400u);
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\r\n", "zz\r\n")), 400u);
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\r\n", "1\r\nabc\r\n")), 400u);
}

TEST(HttpHardening, AnErrorIsFinal) {
  Parser parser = request_parser();
  size_t consumed = 7;
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\n\r\n", consumed), kError);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", consumed), kError);
  EXPECT_EQ(parser.finish_on_close(), kError);
  parser.reset();
  EXPECT_EQ(parser.parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", consumed), kHead);
}

// --- CVEs of other proxies (docs/http-hardening.md), one regression vector each ------------

TEST(HttpCve, HaproxyCve2021_40346LongNameNeverHidesARequest) {
  const std::string smuggled = "GET / HTTP/1.1\r\nh:h\r\n\r\n";
  Parser parser = request_parser();
  const Outcome result = run(
      parser, post_with("Content-Length0" + std::string(250, 'a') + ":\r\nContent-Length: 23\r\n",
                        smuggled));
  EXPECT_EQ(result.events, (Events{kHead, kBody, kDone}));
  EXPECT_EQ(result.body, smuggled) << "the would-be request is body";
}

TEST(HttpCve, HaproxyCve2023_25725EmptyFieldNameIs400) {
  EXPECT_EQ(request_status(get_with(": x\r\n")), 400u);
}

TEST(HttpCve, HaproxyCve2023_40225EmptyContentLengthIs400) {
  EXPECT_EQ(request_status(post_with("Content-Length:\r\n", "GET / HTTP/1.1\r\nHost: h\r\n\r\n")),
            400u);
}

TEST(HttpCve, HaproxyCve2023_45539HashInPathIs400) {
  EXPECT_EQ(request_status("GET /index.html#.png HTTP/1.1\r\nHost: h\r\n\r\n"), 400u);
}

TEST(HttpCve, NginxCve2013_2028HugeChunkSize) {
  ParserLimits limits;
  limits.max_body_bytes = uint64_t{1024} * 1024;
  EXPECT_EQ(
      request_status(post_with("Transfer-Encoding: chunked\r\n", "FFFFFFFFFFFFFFED\r\nxx"), limits),
      413u);
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\r\n", "1FFFFFFFFFFFFFFFF\r\nxx")),
            400u)
      << "chunk size overflows 64 bits";
  Parser unlimited = request_parser();
  const Outcome result =
      run(unlimited, post_with("Transfer-Encoding: chunked\r\n", "FFFFFFFFFFFFFFED\r\nxx"));
  EXPECT_EQ(result.events, (Events{kHead, kBody, kNeedMore}));
  EXPECT_EQ(result.body, "xx");
}

TEST(HttpCve, NginxCve2019_20372BodyOfAGetIsNotARequest) {
  const std::string hidden = "GET /_hidden HTTP/1.1\r\nHost: notlocalhost\r\n\r\n";
  Parser parser = request_parser();
  const Outcome result =
      run(parser, "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(hidden.size()) +
                      "\r\n\r\n" + hidden);
  EXPECT_EQ(result.events, (Events{kHead, kBody, kDone}));
  EXPECT_EQ(result.body, hidden);
}

TEST(HttpCve, EnvoyCve2019_18802WhitespaceAroundTransferEncoding) {
  Parser parser = request_parser();
  EXPECT_EQ(run(parser, post_with("Transfer-Encoding: chunked \t\r\n", "0\r\n\r\n")).events,
            (Events{kHead, kDone}));
  EXPECT_EQ(parser.head().framing, Framing::kChunked);
  EXPECT_EQ(request_status(post_with("Transfer-Encoding: chunked\x0b\r\n", "0\r\n\r\n")), 400u);
}

TEST(HttpCve, EnvoyCve2024_23326OnlyA101Upgrades) {
  Parser parser = response_parser();
  run(parser,
      "HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(parser.head().upgrade_websocket);
  EXPECT_FALSE(has_field(parser.head(), "Upgrade"));
}

TEST(HttpCve, TraefikCve2024_45410ConnectionCannotStripForwardedFieldsAfterUs) {
  Parser parser = request_parser();
  run(parser,
      get_with("Connection: close, X-Forwarded-Host, X-Forwarded-For, X-Real-Ip\r\n"
               "X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-Host: evil\r\nX-Real-Ip: 1.2.3.4\r\n"));
  EXPECT_TRUE(parser.head().fields.empty()) << "removed before the serializer adds its own";
}

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
