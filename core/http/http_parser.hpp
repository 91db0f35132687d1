// A sans-IO HTTP/1.x parser for one direction of one connection: bytes in, a head, body slices
// and an end out. Boost.Beast checks the syntax; this class adds ringlb's framing policy
// (docs/http-hardening.md) so that whatever it passes on has exactly one meaning. Nothing throws
// out of it. Only http_parser.cpp includes Beast (docs/architecture.md, "The rooms").
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/http/http_message.hpp"

namespace ringlb::http {

struct ParserLimits {
  uint64_t max_header_bytes = 32 * 1024;  // whole head; over it: 431 (414 for the request line)
  uint64_t max_body_bytes = 0;            // 0 = unlimited; over it: 413
  // Requests: keep fields whose name has '_' (nginx's underscores_in_headers); else dropped.
  bool underscores_in_headers = false;
};

enum class ParseEvent {
  kNeedMore,  // everything usable was consumed; call again with more bytes
  kHead,      // head() is complete
  kBody,      // body() holds the next slice of body bytes (chunk framing removed)
  kDone,      // the message is complete (a response's trailers are in trailers())
  kError,     // error() says why; answer it, then close the connection
};

// Why a message was refused: what the proxy answers, and the reason for the log line.
struct ParseError {
  unsigned status = 0;      // 400, 413, 414, 431, 501, 505; 502 for a bad response
  const char* reason = "";  // short, static: "Content-Length with Transfer-Encoding"
};

class Parser {
 public:
  enum class Kind { kRequest, kResponse };
  Parser(Kind kind, ParserLimits limits);
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Ready for the next message on the same connection. Keeps its memory (no allocation per
  // message once warmed up).
  void reset();
  // Limits for the messages parsed from now on (they differ per listener); keeps memory.
  void set_limits(ParserLimits limits);
  // Responses only, before parsing: the request was HEAD, so the response has no body. Holds for
  // one message: reset() forgets it, so after a 1xx the caller sets it again for the final one.
  void expect_no_body(bool no_body);

  // Parses from the front of `input` and sets `consumed` to the bytes used. Call again with
  // input.substr(consumed) (plus newly received bytes) until kNeedMore. While the head is
  // incomplete, consumed is 0: the caller keeps the bytes and presents them again with more
  // appended (the head must be contiguous). After kDone, the remaining bytes belong to the next
  // message: reset() first. After kError, stop.
  ParseEvent parse(std::string_view input, size_t& consumed);

  // For kUntilClose responses: the backend closed, so the body is complete. Returns kDone, or
  // kError when the close cut a message short (e.g. mid chunk or short of Content-Length).
  ParseEvent finish_on_close();

  // Valid after kHead until reset(); views point into the parser's own storage.
  const Head& head() const;
  // Valid after kBody until the next parse(); a view into the `input` given to parse().
  std::string_view body() const;
  // The trailer fields of a chunked response, in order, once parse() returned kDone; valid until
  // reset(), which empties it. Views into the parser's own storage (reused: no allocation once it
  // has grown). Empty for a request (whose trailers are dropped), for a body not chunked, and
  // when there were none. Left out, as in the head: the hop-by-hop fields (Connection,
  // Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, HTTP2-Settings), every
  // field the head's Connection names, Content-Length, Host and Expect. Names keep their case.
  std::span<const Field> trailers() const;
  const ParseError& error() const;
  bool head_done() const;

  // A Content-Length body's bytes not yet handed out by parse(); 0 for any other framing.
  uint64_t body_remaining() const;
  // The rest of a Content-Length body went from socket to socket without passing through
  // parse() (a splice): the message is complete, and the next parse() returns kDone. Only with
  // body_remaining() bytes moved, never fewer.
  void skip_rest_of_body();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The Boost release the parser was built with, for `ringlb --version`: Boost stays inside this
// room, so the command line asks here instead of including it.
const char* codec_library_version();

}  // namespace ringlb::http
