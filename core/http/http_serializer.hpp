// Writes the heads ringlb sends: the request toward a backend and the response toward a client,
// each re-serialized from parsed fields with exactly one framing (docs/http-hardening.md), plus the
// proxy's own error responses. Appends to a caller's buffer so steady state allocates nothing.
#pragma once

#include <string>
#include <string_view>

#include "core/http/http_message.hpp"

namespace ringlb::http {

struct ForwardContext {
  std::string_view client_ip;  // appended to X-Forwarded-For
  std::string_view proto;      // X-Forwarded-Proto: "http" or "https"
  // The one X-Request-Id sent (the client's are dropped): the id the access log shows. None
  // when empty.
  std::string_view request_id;
  // Sent as Host when the client's is absent (only HTTP/1.0 may omit it) or empty: the pool's
  // name, as nginx's default `proxy_set_header Host $proxy_host` sends its upstream's name.
  // Many servers answer 400 without a Host. Left empty, such a request goes out with an empty
  // Host. (Known before the pick, so a retry on another backend sends the same head.)
  std::string_view fallback_host = {};
  // Our entry in Via: the protocol the client spoke to us, then our name (RFC 9110 §7.6.3).
  std::string_view via = "1.1 ringlb";
};

// Request line in origin-form, Host (the client's, else the backend's address), end-to-end
// fields, then X-Forwarded-For (appended to the client's), X-Forwarded-Proto and
// X-Forwarded-Host (replacing the client's; none when the client sent no Host), Via,
// X-Request-Id (replacing the client's), the framing of `framing`, and Connection (keep-alive, or
// Upgrade for a websocket request).
void append_request_head(const Head& head, Framing framing, const ForwardContext& context,
                         std::string& out);

// Status line and end-to-end fields from the backend, with the framing and connection choice
// the proxy made for this client. `client_version` is the request's (10 or 11): an HTTP/1.0
// client kept alive is told so with Connection: keep-alive (RFC 9112 §9.3), since keeping the
// connection is not its default.
void append_response_head(const Head& head, Framing framing, bool keep_alive,
                          unsigned client_version, std::string& out);

// "1a2b\r\n" before a chunk of `size` bytes; the chunk is followed by kChunkEnd.
void append_chunk_header(size_t size, std::string& out);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// A complete response the proxy answers itself: short text/plain body, Connection: close.
void append_error_response(unsigned status, std::string& out);

// The reason phrase of RFC 9110 for the statuses ringlb answers itself (proxy and admin API).
std::string_view reason_phrase(unsigned status);

}  // namespace ringlb::http
