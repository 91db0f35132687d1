// The forging vectors of issue 15 item 7, at the parser: target characters backends read as
// something else, Content-Length past 2^63-1, '_' field names, a Host with a trailing dot, and
// values that could break the head or the log when copied (X-Request-Id).
#include "core/http/http_hardening.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "core/http/http_parser.hpp"

namespace ringlb::http {
namespace {

// The parser's verdict on a whole request: its status (0 = accepted) and, if accepted, the head.
struct Verdict {
  unsigned status = 0;
  std::string host;
  std::vector<std::string> field_names;
};

Verdict parse(std::string_view input, ParserLimits limits = {},
              Parser::Kind kind = Parser::Kind::kRequest) {
  Parser parser(kind, limits);
  size_t consumed = 0;
  const ParseEvent event = parser.parse(input, consumed);
  Verdict verdict;
  if (event == ParseEvent::kError) {
    verdict.status = parser.error().status;
    return verdict;
  }
  EXPECT_EQ(event, ParseEvent::kHead) << input;
  verdict.host = std::string(parser.head().host);
  for (const Field& field : parser.head().fields) verdict.field_names.emplace_back(field.name);
  return verdict;
}

std::string get(std::string_view target, std::string_view fields = "Host: h\r\n") {
  return "GET " + std::string(target) + " HTTP/1.1\r\n" + std::string(fields) + "\r\n";
}

// --- Request targets ------------------------------------------------------------------------

TEST(TargetChars, BackslashCaretAndBacktickAreRefused) {
  for (char c : std::string_view("\\^`")) {
    EXPECT_FALSE(is_target_char(c)) << c;
    EXPECT_EQ(parse(get("/api" + std::string(1, c) + "x")).status, 400u) << c;
  }
  // "/public\..\admin" is "/public/../admin" to a backend that maps '\' to '/'.
  EXPECT_EQ(parse(get("/public\\..\\admin")).status, 400u);
  EXPECT_EQ(parse(get("http://h/a\\b")).status, 400u);  // absolute-form too
}

TEST(TargetChars, EveryVisibleCharacterRfc3986AllowsIsAccepted) {
  const std::string_view allowed =
      "ABCXYZabcxyz0189-._~!$&'()*+,;=:@/?%";  // unreserved, sub-delims, pchar, '/', '?', '%'
  for (char c : allowed) EXPECT_TRUE(is_target_char(c)) << c;
  EXPECT_EQ(parse(get("/a-b._~!$&'()*+,;=:@/c?d=%2F&e")).status, 0u);
}

TEST(TargetChars, ControlsSpaceDelAndHighBytesAreRefused) {
  for (int byte : {0x00, 0x09, 0x20, 0x7f, 0x80, 0xff}) {
    EXPECT_FALSE(is_target_char(static_cast<char>(byte))) << byte;
  }
}

// --- Content-Length ---------------------------------------------------------------------------

TEST(ContentLength, UpToTwoToThe63MinusOneIsAccepted) {
  const std::string head =
      "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n";
  EXPECT_EQ(parse(head).status, 0u);
}

TEST(ContentLength, AboveTwoToThe63MinusOneIsRefused) {
  for (std::string_view length : {"9223372036854775808", "18446744073709551615"}) {
    const std::string head =
        "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::string(length) + "\r\n\r\n";
    EXPECT_EQ(parse(head).status, 400u) << length;
    const std::string response =
        "HTTP/1.1 200 OK\r\nContent-Length: " + std::string(length) + "\r\n\r\n";
    EXPECT_EQ(parse(response, {}, Parser::Kind::kResponse).status, 502u) << length;
  }
}

// --- Field names with '_' ---------------------------------------------------------------------

TEST(Underscores, FieldsWithUnderscoresAreDroppedByDefault) {
  const Verdict verdict =
      parse(get("/", "Host: h\r\nX_Forwarded_For: 6.6.6.6\r\nX-Kept: 1\r\nx_real_ip: 6\r\n"));
  ASSERT_EQ(verdict.status, 0u);
  EXPECT_EQ(verdict.field_names, std::vector<std::string>{"X-Kept"});
}

TEST(Underscores, TheListenerOptionKeepsThem) {
  ParserLimits limits;
  limits.underscores_in_headers = true;
  const Verdict verdict = parse(get("/", "Host: h\r\nX_Custom: 1\r\n"), limits);
  ASSERT_EQ(verdict.status, 0u);
  EXPECT_EQ(verdict.field_names, std::vector<std::string>{"X_Custom"});
}

TEST(Underscores, ResponsesKeepThem) {
  const Verdict verdict =
      parse("HTTP/1.1 204 No Content\r\nX_Backend: 1\r\n\r\n", {}, Parser::Kind::kResponse);
  ASSERT_EQ(verdict.status, 0u);
  EXPECT_EQ(verdict.field_names, std::vector<std::string>{"X_Backend"});
}

// --- Host normalization -----------------------------------------------------------------------

std::string normalized(std::string host) {
  return std::string(normalize_host({host.data(), host.size()}));
}

TEST(HostNormalization, OneTrailingDotIsRemoved) {
  EXPECT_EQ(normalized("api.example.com."), "api.example.com");
  EXPECT_EQ(normalized("api.example.com.:8080"), "api.example.com:8080");
  EXPECT_EQ(normalized("API.Example.COM."), "API.Example.COM");  // case is the client's
  EXPECT_EQ(normalized("a.."), "a.");
  EXPECT_EQ(normalized("127.0.0.1."), "127.0.0.1");
}

TEST(HostNormalization, OtherHostsAreKept) {
  EXPECT_EQ(normalized("api.example.com"), "api.example.com");
  EXPECT_EQ(normalized("api.example.com:8080"), "api.example.com:8080");
  EXPECT_EQ(normalized("[::1]:80"), "[::1]:80");
  EXPECT_EQ(normalized("."), ".");
  EXPECT_EQ(normalized(".:80"), ".:80");
  EXPECT_EQ(normalized(""), "");
}

TEST(HostNormalization, TheParsedHeadCarriesTheNormalizedHost) {
  EXPECT_EQ(parse(get("/", "Host: api.example.com.\r\n")).host, "api.example.com");
  EXPECT_EQ(parse(get("/", "Host: api.example.com.:81\r\n")).host, "api.example.com:81");
  EXPECT_EQ(parse(get("http://api.example.com.:81/p", "Host: other\r\n")).host,
            "api.example.com:81");
}

// --- Values copied into the log and the forwarded head (X-Request-Id) ------------------------

TEST(FieldValues, CrLfNulAndOtherControlsAreRefused) {
  for (std::string_view value :
       {std::string_view("a\rb"), std::string_view("a\0b", 3), std::string_view("a\x01z"),
        std::string_view("a\x1b[31m"), std::string_view("a\x7f")}) {
    const std::string head = get("/", "Host: h\r\nX-Request-Id: " + std::string(value) + "\r\n");
    EXPECT_EQ(parse(head).status, 400u) << testing::PrintToString(std::string(value));
  }
}

TEST(FieldValues, TabsAndHighBytesAreValidValues) {
  // RFC 9110 §5.5 allows HTAB and obs-text; they are forwarded, and escaped in the log.
  EXPECT_EQ(parse(get("/", "Host: h\r\nX-Request-Id: a\tb\xff\r\n")).status, 0u);
}

// ---- routing_path: what a path_prefix route compares ----

std::string routed(std::string_view target) {
  std::string scratch;
  const std::optional<std::string_view> path = routing_path(target, scratch);
  return path ? std::string(*path) : "<400>";
}

TEST(RoutingPath, EveryWayToSpellV1ReachesTheV1Prefix) {
  // The bypasses of a "/v1/" route that a normalizing backend serves as /v1/secret.
  for (const char* target :
       {"/x/../v1/secret", "/./v1/secret", "//v1/secret", "/v1%2Fsecret", "/v1%2fsecret",
        "/%2e/v1/secret", "/x/%2e%2e/v1/secret", "/%761/secret", "/v1;x/secret", "/v1/./secret",
        "///v1//secret", "/../v1/secret", "/x/y/../../v1/secret", "/%2E%2E/v1/secret"}) {
    EXPECT_EQ(routed(target), "/v1/secret") << target;
  }
}

TEST(RoutingPath, PlainTargetsAreRoutedAsTheyAreWithoutACopy) {
  std::string scratch;
  const std::string_view target = "/v1/secret.txt?a=/../b&c=%zz;d";
  const std::optional<std::string_view> path = routing_path(target, scratch);
  ASSERT_TRUE(path);
  EXPECT_EQ(*path, "/v1/secret.txt");
  EXPECT_EQ(path->data(), target.data());  // a view of the target itself
  EXPECT_TRUE(scratch.empty());
  EXPECT_EQ(routed("*"), "*");
  EXPECT_EQ(routed("/"), "/");
  EXPECT_EQ(routed("/.well-known/x"), "/.well-known/x");  // a dot that is not a segment
}

TEST(RoutingPath, DotSegmentsFollowRfc3986AndNeverClimbAboveTheRoot) {
  EXPECT_EQ(routed("/a/b/.."), "/a/");
  EXPECT_EQ(routed("/a/b/."), "/a/b/");
  EXPECT_EQ(routed("/a/b/../"), "/a/");
  EXPECT_EQ(routed("/.."), "/");
  EXPECT_EQ(routed("/../../.."), "/");
  EXPECT_EQ(routed("/a/..b/c"), "/a/..b/c");  // "..b" is a name, not a dot-segment
  EXPECT_EQ(routed("/a/.../c"), "/a/.../c");
  EXPECT_EQ(routed("/v1//"), "/v1/");
  EXPECT_EQ(routed("/v1/%2e"), "/v1/");
}

TEST(RoutingPath, PercentDecodingHappensOnceAndOnlyInThePath) {
  EXPECT_EQ(routed("/v1%252Fsecret"), "/v1%2Fsecret");  // no double decoding
  EXPECT_EQ(routed("/a%3Fb?q=%2F"), "/a?b");            // the query is not part of the path
  EXPECT_EQ(routed("/v1%3Bx/s"), "/v1;x/s");            // an encoded ';' is a name character
  EXPECT_EQ(routed("/v1;a=1;b=2/s;jsessionid=1"), "/v1/s");
}

TEST(RoutingPath, ABadEscapeOrAnEncodedNulIsRefused) {
  for (const char* target : {"/v1%", "/v1%2", "/v1%zz/s", "/v1%2g", "/a%00b", "/%00", "/%g0"}) {
    EXPECT_EQ(routed(target), "<400>") << target;
  }
}

TEST(RoutingPath, TheScratchBufferIsReusedAcrossRequests) {
  std::string scratch;
  ASSERT_TRUE(routing_path("/a/./b/../" + std::string(200, 'c'), scratch));
  const char* storage = scratch.data();
  ASSERT_TRUE(routing_path("//v1/x", scratch));
  EXPECT_EQ(scratch, "/v1/x");
  EXPECT_EQ(scratch.data(), storage);  // no new allocation for a shorter path
}

}  // namespace
}  // namespace ringlb::http
