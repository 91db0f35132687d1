// The HTTP/2 <-> HTTP/1.1 translation of one stream: what an HTTP/1.1 backend is sent for an h2
// request, and which fields an h2 client gets for a backend's response head.
#include "core/http/h2_translate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringlb::http {
namespace {

H2Request request(std::string_view method, Framing framing, uint64_t length = 0) {
  H2Request out;
  out.head.method = method;
  out.head.target = "/p?q=1";
  out.head.host = "example.test";
  out.head.fields = {{"accept", "*/*"}, {"cookie", "a=1; b=2"}};
  out.head.framing = framing;
  out.head.content_length = length;
  return out;
}

TEST(H2Translate, ARequestWithoutBodyBecomesAnHttp11HeadWithHostFromAuthority) {
  std::string text;
  append_http1_request(request("GET", Framing::kNone), text);
  EXPECT_EQ(text,
            "GET /p?q=1 HTTP/1.1\r\nHost: example.test\r\naccept: */*\r\ncookie: a=1; b=2\r\n\r\n");
}

TEST(H2Translate, ADeclaredLengthIsKeptAndAnUndeclaredOneGoesChunked) {
  std::string with_length;
  append_http1_request(request("POST", Framing::kContentLength, 12), with_length);
  EXPECT_NE(with_length.find("\r\nContent-Length: 12\r\n\r\n"), std::string::npos);
  EXPECT_EQ(with_length.find("Transfer-Encoding"), std::string::npos);

  std::string chunked;
  append_http1_request(request("POST", Framing::kChunked), chunked);
  EXPECT_NE(chunked.find("\r\nTransfer-Encoding: chunked\r\n\r\n"), std::string::npos);
  EXPECT_EQ(chunked.find("Content-Length"), std::string::npos);
}

TEST(H2Translate, BodyPiecesAreFramedAsTheHeadSaid) {
  std::string raw;
  append_http1_body(Framing::kContentLength, std::string_view("hello"), raw);
  append_http1_body_end(Framing::kContentLength, raw);
  EXPECT_EQ(raw, "hello");

  std::string chunked;
  append_http1_body(Framing::kChunked, std::string_view("hello world, 26 bytes long"), chunked);
  append_http1_body(Framing::kChunked, std::string_view(""), chunked);  // would end the body
  append_http1_body_end(Framing::kChunked, chunked);
  EXPECT_EQ(chunked, "1a\r\nhello world, 26 bytes long\r\n0\r\n\r\n");
}

TEST(H2Translate, AResponseKeepsItsFieldsAndDeclaredLength) {
  Head head;
  head.status = 200;
  head.fields = {{"Content-Type", "text/plain"}, {"X-Backend", "b1"}};
  head.framing = Framing::kContentLength;
  head.content_length = 1234;
  std::vector<Field> fields;
  std::string storage;
  h2_response_fields(head, fields, storage);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].name, "content-length");
  EXPECT_EQ(fields[0].value, "1234");
  EXPECT_EQ(fields[1].name, "Content-Type");
  EXPECT_EQ(fields[2].value, "b1");

  head.framing = Framing::kChunked;
  h2_response_fields(head, fields, storage);
  EXPECT_EQ(fields.size(), 2u) << "a chunked response has no length to declare";
}

TEST(H2Translate, HeadAnd204And304AndEmptyBodiesEndWithTheHeaders) {
  Head head;
  head.status = 200;
  head.framing = Framing::kContentLength;
  head.content_length = 10;
  EXPECT_TRUE(h2_response_has_body(head, "GET"));
  EXPECT_FALSE(h2_response_has_body(head, "HEAD"));
  head.content_length = 0;
  EXPECT_FALSE(h2_response_has_body(head, "GET"));
  head.framing = Framing::kChunked;
  EXPECT_TRUE(h2_response_has_body(head, "GET"));
  head.framing = Framing::kUntilClose;
  EXPECT_TRUE(h2_response_has_body(head, "GET"));
  head.status = 204;
  EXPECT_FALSE(h2_response_has_body(head, "GET"));
  head.status = 304;
  EXPECT_FALSE(h2_response_has_body(head, "GET"));
}

}  // namespace
}  // namespace ringlb::http
