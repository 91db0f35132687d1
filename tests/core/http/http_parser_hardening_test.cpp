// The HTTP/1.x parser against every row of docs/http-hardening.md, each vector with the exact
// status the proxy answers.
#include <gtest/gtest.h>

#include <string>

#include "core/http/http_parser.hpp"
#include "http_parser_test_support.hpp"

namespace ringlb::http {
namespace {

using namespace parser_test;

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

}  // namespace
}  // namespace ringlb::http
