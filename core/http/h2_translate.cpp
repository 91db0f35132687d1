// HTTP/2 <-> HTTP/1.1 translation for one stream (h2_translate.hpp).
#include "core/http/h2_translate.hpp"

#include <charconv>

namespace ringlb::http {
namespace {

void append_decimal(uint64_t value, std::string& out) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

}  // namespace

void append_http1_request(const H2Request& request, std::string& out) {
  const Head& head = request.head;
  out.append(head.method).append(" ").append(head.target).append(" HTTP/1.1\r\nHost: ");
  out.append(head.host).append("\r\n");
  for (const Field& field : head.fields) {
    out.append(field.name).append(": ").append(field.value).append("\r\n");
  }
  if (head.framing == Framing::kContentLength) {
    out.append("Content-Length: ");
    append_decimal(head.content_length, out);
    out.append("\r\n");
  } else if (head.framing == Framing::kChunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  out.append("\r\n");
}

void append_http1_body(Framing framing, std::span<const char> bytes, std::string& out) {
  if (bytes.empty()) return;  // an empty chunk would end a chunked body
  if (framing != Framing::kChunked) {
    out.append(bytes.data(), bytes.size());
    return;
  }
  char digits[20];
  const auto result = std::to_chars(digits, digits + sizeof digits, bytes.size(), 16);
  out.append(digits, result.ptr).append("\r\n").append(bytes.data(), bytes.size()).append("\r\n");
}

void append_http1_body_end(Framing framing, std::string& out) {
  if (framing == Framing::kChunked) out.append("0\r\n\r\n");
}

void h2_response_fields(const Head& head, std::vector<Field>& out, std::string& storage) {
  out.clear();
  storage.clear();
  if (head.framing == Framing::kContentLength || head.declares_length) {
    append_decimal(head.content_length, storage);
    out.push_back({"content-length", storage});
  }
  for (const Field& field : head.fields) out.push_back(field);
}

bool h2_response_has_body(const Head& head, std::string_view request_method) {
  if (request_method == "HEAD" || head.status == 204 || head.status == 304) return false;
  if (head.framing == Framing::kNone) return false;
  return !(head.framing == Framing::kContentLength && head.content_length == 0);
}

}  // namespace ringlb::http
