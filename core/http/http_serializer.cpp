// Head serialization. Fields the proxy owns (framing, Host, X-Forwarded-*, Via, Connection) are
// skipped from the parsed head and written once by ringlb, so no client value can duplicate them.
#include "core/http/http_serializer.hpp"

#include <array>
#include <charconv>

namespace ringlb::http {
namespace {

bool is_owned_request_field(std::string_view name) {
  constexpr std::array kOwned = {std::string_view("x-forwarded-for"),
                                 std::string_view("x-forwarded-proto"),
                                 std::string_view("x-forwarded-host"), std::string_view("via"),
                                 std::string_view("x-request-id")};
  for (std::string_view owned : kOwned) {
    if (iequals(name, owned)) return true;
  }
  return false;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void append_number(std::string& out, uint64_t value, int base = 10) {
  char digits[24];
  auto [end, error] = std::to_chars(digits, digits + sizeof(digits), value, base);
  out.append(digits, end);
}

void append_framing(std::string& out, Framing framing, uint64_t content_length) {
  if (framing == Framing::kContentLength) {
    out.append("Content-Length: ");
    append_number(out, content_length);
    out.append("\r\n");
  } else if (framing == Framing::kChunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
}

// Every X-Forwarded-For and Via the client sent, joined, with ours appended.
void append_list_field(std::string& out, const Head& head, std::string_view name,
                       std::string_view ours) {
  out.append(name).append(": ");
  for (const Field& field : head.fields) {
    if (iequals(field.name, name)) out.append(field.value).append(", ");
  }
  out.append(ours).append("\r\n");
}

}  // namespace

void append_request_head(const Head& head, Framing framing, const ForwardContext& context,
                         std::string& out) {
  out.append(head.method).append(" ").append(head.target).append(" HTTP/1.1\r\n");
  append_field(out, "Host", head.host.empty() ? context.fallback_host : head.host);
  for (const Field& field : head.fields) {
    if (!is_owned_request_field(field.name)) append_field(out, field.name, field.value);
  }
  append_list_field(out, head, "X-Forwarded-For", context.client_ip);
  append_field(out, "X-Forwarded-Proto", context.proto);
  if (!head.host.empty()) append_field(out, "X-Forwarded-Host", head.host);
  append_list_field(out, head, "Via", context.via);
  if (!context.request_id.empty()) append_field(out, "X-Request-Id", context.request_id);
  append_framing(out, framing, head.content_length);
  if (head.upgrade_websocket) {
    out.append("Connection: Upgrade\r\n");
    append_field(out, "Upgrade", head.upgrade);
  }
  out.append("\r\n");
}

void append_response_head(const Head& head, Framing framing, bool keep_alive,
                          unsigned client_version, std::string& out) {
  out.append("HTTP/1.1 ");
  append_number(out, head.status);
  out.append(" ").append(head.reason).append("\r\n");
  for (const Field& field : head.fields) append_field(out, field.name, field.value);
  append_framing(out, head.declares_length ? Framing::kContentLength : framing,
                 head.content_length);
  if (head.upgrade_websocket) {
    out.append("Connection: Upgrade\r\n");
    append_field(out, "Upgrade", head.upgrade);
  } else if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (client_version == 10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

void append_chunk_header(size_t size, std::string& out) {
  append_number(out, size, 16);
  out.append("\r\n");
}

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

void append_error_response(unsigned status, std::string& out) {
  const std::string_view reason = reason_phrase(status);
  out.append("HTTP/1.1 ");
  append_number(out, status);
  out.append(" ").append(reason).append("\r\nContent-Type: text/plain\r\nContent-Length: ");
  append_number(out, reason.size() + 1);
  out.append("\r\nConnection: close\r\n\r\n").append(reason).append("\n");
}

}  // namespace ringlb::http
