// The HTTP/1.x parser against CVEs of other proxies (docs/http-hardening.md names each): one
// regression vector per CVE.
#include <gtest/gtest.h>

#include <string>

#include "core/http/http_parser.hpp"
#include "http_parser_test_support.hpp"

namespace ringlb::http {
namespace {

using namespace parser_test;

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

}  // namespace
}  // namespace ringlb::http
