// The HTTP check's request and verdicts, byte by byte as a probe feeds them.
#include "health/http_check.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace ringlb::health {
namespace {

// Feeds `text` in pieces of `piece` bytes; the verdict once there is one.
std::optional<CheckResult> feed(HttpResponseCheck& check, std::string_view text,
                                size_t piece = 1 << 20) {
  while (!text.empty()) {
    std::span<char> space = check.space();
    const size_t count = std::min({piece, text.size(), space.size()});
    std::memcpy(space.data(), text.data(), count);
    text.remove_prefix(count);
    if (auto verdict = check.received(count)) return verdict;
  }
  return std::nullopt;
}

TEST(StatusRanges, ParseListsAndRanges) {
  EXPECT_EQ(parse_status_ranges("200-399"), (std::vector<StatusRange>{{200, 399}}));
  EXPECT_EQ(parse_status_ranges(" 200 , 302-304"),
            (std::vector<StatusRange>{{200, 200}, {302, 304}}));
  const auto ranges = parse_status_ranges("200-299,302");
  EXPECT_TRUE(status_expected(ranges, 204));
  EXPECT_TRUE(status_expected(ranges, 302));
  EXPECT_FALSE(status_expected(ranges, 301));
  EXPECT_FALSE(status_expected(ranges, 503));
}

TEST(HttpCheckRequest, GetWithHostAndClose) {
  HttpCheckSpec spec;
  EXPECT_EQ(build_check_request(spec, "10.0.0.1:8080"),
            "GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: ringlb-health-check\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n");
  spec.path = "/ready?full=1";
  spec.host = "app.internal";
  EXPECT_TRUE(build_check_request(spec, "10.0.0.1:8080")
                  .starts_with("GET /ready?full=1 HTTP/1.1\r\nHost: app.internal\r\n"));
}

TEST(HttpResponseCheck, PassesOnAnExpectedStatusAsSoonAsTheStatusLineIsIn) {
  HttpCheckSpec spec;
  HttpResponseCheck check(spec);
  check.reset();
  auto verdict = feed(check, "HTTP/1.1 204 No Content\r\n");
  ASSERT_TRUE(verdict);
  EXPECT_TRUE(verdict->passed());
  EXPECT_EQ(verdict->status, 204);
}

TEST(HttpResponseCheck, AStatusOutsideTheRangesFails) {
  HttpCheckSpec spec;
  HttpResponseCheck check(spec);
  check.reset();
  auto verdict = feed(check, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 3);
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kBadStatus);
  EXPECT_EQ(verdict->status, 503);
  EXPECT_EQ(describe(*verdict), "status 503");
}

TEST(HttpResponseCheck, WaitsForAStatusLineSplitOverManyReads) {
  HttpCheckSpec spec;
  HttpResponseCheck check(spec);
  check.reset();
  EXPECT_FALSE(feed(check, "HTTP/1.1 2"));
  auto verdict = feed(check, "00 OK\r\n");
  ASSERT_TRUE(verdict);
  EXPECT_TRUE(verdict->passed());
}

TEST(HttpResponseCheck, NotHttpFailsAtOnce) {
  HttpCheckSpec spec;
  HttpResponseCheck check(spec);
  check.reset();
  auto verdict = feed(check, "SSH-2.0-OpenSSH");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kBadResponse);
  check.reset();
  verdict = feed(check, "HTTP/1.1 2xx OK\r\n");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kBadResponse);
}

TEST(HttpResponseCheck, ClosedBeforeAStatusIsABadResponse) {
  HttpCheckSpec spec;
  HttpResponseCheck check(spec);
  check.reset();
  EXPECT_FALSE(feed(check, "HTTP/1."));
  EXPECT_EQ(check.closed().kind, ResultKind::kBadResponse);
}

TEST(HttpResponseCheck, BodySubstringFoundInAnyPiece) {
  HttpCheckSpec spec;
  spec.expect_body = "\"status\":\"ok\"";
  HttpResponseCheck check(spec);
  check.reset();
  auto verdict =
      feed(check,
           "HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n{\"db\":1,\"status\":\"ok\",\"x\":2}", 5);
  ASSERT_TRUE(verdict);
  EXPECT_TRUE(verdict->passed());
}

TEST(HttpResponseCheck, BodyMismatchOnceTheBodyEnds) {
  HttpCheckSpec spec;
  spec.expect_body = "ok";
  HttpResponseCheck check(spec);
  check.reset();
  auto verdict = feed(check, "HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\ndegrade");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kBodyMismatch);
  EXPECT_EQ(describe(*verdict), "body mismatch (status 200)");
  // Without a length, the close ends it.
  check.reset();
  EXPECT_FALSE(feed(check, "HTTP/1.1 200 OK\r\n\r\nwarming up"));
  EXPECT_EQ(check.closed().kind, ResultKind::kBodyMismatch);
}

TEST(HttpResponseCheck, ABadStatusFailsEvenWhenTheBodyWouldMatch) {
  HttpCheckSpec spec;
  spec.expect_body = "ok";
  HttpResponseCheck check(spec);
  check.reset();
  auto verdict = feed(check, "HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kBadStatus);
}

TEST(HttpResponseCheck, OnlyTheFirstBufferfulIsSearched) {
  HttpCheckSpec spec;
  spec.expect_body = "needle";
  HttpResponseCheck check(spec);
  check.reset();
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
  const std::string hay(HttpResponseCheck::kCapacity, 'h');
  auto verdict = feed(check, head + hay + "needle");
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kBodyMismatch);
}

TEST(HttpResponseCheck, ResetForgetsThePreviousResponse) {
  HttpCheckSpec spec;
  HttpResponseCheck check(spec);
  check.reset();
  feed(check, "HTTP/1.1 500 x\r\n");
  check.reset();
  auto verdict = feed(check, "HTTP/1.0 200 OK\r\n");
  ASSERT_TRUE(verdict);
  EXPECT_TRUE(verdict->passed());
}

TEST(CheckResult, LayerNamesFollowHaproxy) {
  EXPECT_STREQ(layer_name(ResultKind::kConnectFailed), "L4CON");
  EXPECT_STREQ(layer_name(ResultKind::kConnectTimeout), "L4TOUT");
  EXPECT_STREQ(layer_name(ResultKind::kResponseTimeout), "L7TOUT");
  EXPECT_STREQ(layer_name(ResultKind::kBadResponse), "L7RSP");
  EXPECT_STREQ(layer_name(ResultKind::kBadStatus), "L7STS");
}

TEST(CheckResult, DurationsInReasons) {
  EXPECT_EQ(format_duration(std::chrono::milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(2000)), "2s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(120000)), "2m");
}

}  // namespace
}  // namespace ringlb::health
