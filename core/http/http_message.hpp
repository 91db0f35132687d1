// An HTTP/1.x message head as ringlb understands it after parsing and applying its framing
// policy (http-hardening.md). Plain data with no Beast in sight, so sessions, serializers and
// tests include it cheaply.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace ringlb::http {

// How the body of a message is delimited. Exactly one applies; ambiguous input is refused.
enum class Framing {
  kNone,           // no body (GET without CL, HEAD responses, 1xx/204/304)
  kContentLength,  // content_length bytes
  kChunked,        // Transfer-Encoding: chunked (exactly that, nothing else)
  kUntilClose,     // responses only: the body runs until the backend closes
};

struct Field {
  std::string_view name;   // as received (case preserved)
  std::string_view value;  // trimmed of surrounding whitespace
};

struct Head {
  // Requests.
  std::string_view method;  // "GET", "POST", ... (case-sensitive token)
  std::string_view target;  // origin-form ("/p?q"); absolute-form is rewritten here; "*"
  std::string_view host;    // from Host, or from the absolute-form authority (then Host is ignored)
  // Responses.
  unsigned status = 0;
  std::string_view reason;
  // Both.
  unsigned version = 11;  // 10 or 11
  // End-to-end fields only, in order. Removed: the hop-by-hop fields (Connection, Keep-Alive,
  // Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, HTTP2-Settings), every field
  // named in Connection, Content-Length, and for requests Host. The serializer adds its own.
  std::vector<Field> fields;
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;  // meaningful when framing == kContentLength or declares_length
  // A response to HEAD (or a 304) that carried Content-Length: no body follows, but the length
  // is passed on to the client (RFC 9110 §9.3.2).
  bool declares_length = false;
  bool keep_alive = true;       // what the sender asked for: version default plus Connection
  // Request: "Upgrade: websocket" with "Connection: upgrade". Response: status 101.
  bool upgrade_websocket = false;
  std::string_view upgrade;      // the Upgrade value kept for a websocket upgrade, else empty
  bool expect_continue = false;  // request: "Expect: 100-continue"

  bool is_request() const { return !method.empty(); }
  // The first field with this name (ASCII case-insensitive), or empty.
  std::string_view find(std::string_view name) const;
};

bool iequals(std::string_view a, std::string_view b);

}  // namespace ringlb::http
