// HTTP/2 <-> HTTP/1.1 for a stream sent to an HTTP/1.1 backend (issue 18 item 3). A request comes
// out of the codec as a checked Head; it is written back as HTTP/1.1 text and parsed again by the
// same request parser as any HTTP/1.1 request, so routing, hash keys, the hardening rows and the
// forwarded fields are one code path for both protocols (docs/http2-plan.md §1.3). A response
// Head goes the other way as the field list of a HEADERS frame.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/h2_connection.hpp"
#include "core/http/http_message.hpp"

namespace ringlb::http {

// "METHOD :path HTTP/1.1", Host from :authority, the regular fields, and the framing the body
// will be written in: Content-Length when the client declared one, chunked when it did not and a
// body follows, none when the HEADERS ended the stream.
void append_http1_request(const H2Request& request, std::string& out);

// One piece of request body in the framing append_http1_request chose: a chunk when chunked.
void append_http1_body(Framing framing, std::span<const char> bytes, std::string& out);
// The end of the body: the last chunk when chunked, nothing otherwise.
void append_http1_body_end(Framing framing, std::string& out);

// The fields of a response HEADERS frame for `head` (a parsed HTTP/1.1 response): its end-to-end
// fields and content-length when the backend declared one. `storage` holds the length's digits;
// the views point into it and into head.
void h2_response_fields(const Head& head, std::vector<Field>& out, std::string& storage);

// Whether a response to `request_method` with this head carries a body (HEAD, 204, 304 do not).
bool h2_response_has_body(const Head& head, std::string_view request_method);

}  // namespace ringlb::http
