// The heads ringlb writes: one framing, proxy-owned fields written once, client values kept
// where they are end-to-end.
#include "core/http/http_serializer.hpp"

#include <gtest/gtest.h>

namespace ringlb::http {
namespace {

Head get_request() {
  Head head;
  head.method = "GET";
  head.target = "/a?b=1";
  head.host = "example.com";
  head.fields = {{"Accept", "*/*"},
                 {"X-Forwarded-For", "10.0.0.9"},
                 {"Via", "1.0 edge"},
                 {"X-Forwarded-Proto", "https"}};
  return head;
}

TEST(RequestHead, AppendsToForwardedForAndViaAndReplacesProtoAndHost) {
  std::string out;
  append_request_head(get_request(), Framing::kNone, {"127.0.0.1", "http", "abc"}, out);
  EXPECT_EQ(out,
            "GET /a?b=1 HTTP/1.1\r\n"
            "Host: example.com\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 10.0.0.9, 127.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: example.com\r\n"
            "Via: 1.0 edge, 1.1 ringlb\r\n"
            "X-Request-Id: abc\r\n"
            "\r\n");
}

TEST(RequestHead, WritesExactlyOneFraming) {
  Head head = get_request();
  head.fields.clear();
  head.content_length = 5;
  std::string with_length;
  append_request_head(head, Framing::kContentLength, {"127.0.0.1", "http", ""}, with_length);
  EXPECT_NE(with_length.find("\r\nContent-Length: 5\r\n"), std::string::npos);
  EXPECT_EQ(with_length.find("Transfer-Encoding"), std::string::npos);
  std::string chunked;
  append_request_head(head, Framing::kChunked, {"127.0.0.1", "http", ""}, chunked);
  EXPECT_NE(chunked.find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(chunked.find("Content-Length"), std::string::npos);
  EXPECT_EQ(chunked.find("X-Request-Id"), std::string::npos);  // none given, none written
}

TEST(RequestHead, SendsExactlyTheLoggedRequestIdInsteadOfTheClients) {
  Head head = get_request();
  head.fields = {{"X-Request-Id", "first"}, {"x-request-id", "second"}};
  std::string out;
  append_request_head(head, Framing::kNone, {"127.0.0.1", "http", "first"}, out);
  EXPECT_EQ(out,
            "GET /a?b=1 HTTP/1.1\r\n"
            "Host: example.com\r\n"
            "X-Forwarded-For: 127.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: example.com\r\n"
            "Via: 1.1 ringlb\r\n"
            "X-Request-Id: first\r\n"
            "\r\n");
}

TEST(RequestHead, WebsocketUpgradeKeepsUpgradeAndConnection) {
  Head head = get_request();
  head.upgrade_websocket = true;
  head.upgrade = "websocket";
  std::string out;
  append_request_head(head, Framing::kNone, {"127.0.0.1", "http", ""}, out);
  EXPECT_NE(out.find("\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), std::string::npos);
}

// nginx and others answer 400 to a request without Host; an HTTP/1.0 client may send none.
TEST(RequestHead, WithoutClientHostSendsThePoolNameAsHost) {
  Head head = get_request();
  head.version = 10;
  head.host = "";
  head.fields.clear();
  std::string out;
  append_request_head(head, Framing::kNone, {"127.0.0.1", "http", "", "app"}, out);
  EXPECT_EQ(out,
            "GET /a?b=1 HTTP/1.1\r\n"
            "Host: app\r\n"
            "X-Forwarded-For: 127.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "Via: 1.1 ringlb\r\n"
            "\r\n");  // no X-Forwarded-Host: the client named no host
}

TEST(RequestHead, TheClientsHostWinsOverThePoolName) {
  std::string out;
  append_request_head(get_request(), Framing::kNone, {"127.0.0.1", "http", "", "app"},
                      out);
  EXPECT_NE(out.find("\r\nHost: example.com\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Host: app"), std::string::npos);
}

TEST(ResponseHead, ClosingAKeepAliveAndReFramingAChunkedBody) {
  Head head;
  head.status = 200;
  head.reason = "OK";
  head.fields = {{"Content-Type", "text/plain"}};
  std::string out;
  append_response_head(head, Framing::kChunked, false, 11, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n");
}

// RFC 9112 §9.3: persistence is not HTTP/1.0's default, so a kept 1.0 client is told, whatever
// version the backend answered in; an HTTP/1.1 client needs no Connection field to stay.
TEST(ResponseHead, TellsAnHttp10ClientItIsKeptAlive) {
  Head head;
  head.status = 200;
  head.reason = "OK";
  head.content_length = 2;
  head.declares_length = true;
  std::string out;
  append_response_head(head, Framing::kContentLength, true, 10, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n");
  head.version = 10;  // a backend's HTTP/1.0 answer to an HTTP/1.1 client
  out.clear();
  append_response_head(head, Framing::kContentLength, true, 11, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
  out.clear();
  append_response_head(head, Framing::kContentLength, false, 10, out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
}

TEST(ErrorResponse, IsCompleteAndCloses) {
  std::string out;
  append_error_response(503, out);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
            "Content-Length: 20\r\nConnection: close\r\n\r\nService Unavailable\n");
}

TEST(ChunkHeader, IsLowercaseHex) {
  std::string out;
  append_chunk_header(0x1a2b, out);
  EXPECT_EQ(out, "1a2b\r\n");
}

}  // namespace
}  // namespace ringlb::http
