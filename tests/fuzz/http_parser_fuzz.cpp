// libFuzzer target over the HTTP parser, fed the way a session feeds it: the bytes arrive in two
// reads, unconsumed bytes are kept and presented again. It checks the parse() contract on both
// the request and the response parser; any broken invariant aborts.
//
// Input: byte 0 picks where the message is split (proportionally: 0 = at the start, 255 = at the
// end); byte 1 holds flags (bit 0: the response answers HEAD; bit 1: tiny limits, to reach
// 413/414/431); the rest is the byte stream. Seeds start with two letters, e.g. "@@GET / ...".
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/http/http_parser.hpp"

namespace ringlb::http {
namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "http_parser_fuzz: invariant broken: %s\n", invariant);
  std::abort();
}

bool is_known_status(unsigned status) {
  switch (status) {
    case 400:
    case 413:
    case 414:
    case 431:
    case 501:
    case 502:
    case 505:
      return true;
    default:
      return false;
  }
}

// One connection's worth of messages, with the state needed to check the contract.
class Driver {
 public:
  Driver(Parser::Kind kind, ParserLimits limits, bool head_request)
      : parser_(kind, limits), kind_(kind), head_request_(head_request) {
    parser_.expect_no_body(head_request_);
  }

  // Appends one read and parses all it can. Returns false once the connection is finished.
  bool receive(std::string_view bytes) {
    pending_.append(bytes);
    // Every event but kDone consumes or stops, and kDone is followed by a fresh head.
    const size_t max_steps = 4 * pending_.size() + 16;
    for (size_t steps = 0; steps < max_steps; ++steps) {
      size_t consumed = 0;
      const ParseEvent event = parser_.parse(pending_, consumed);
      check(consumed <= pending_.size(), "consumed <= input size");
      if (!on_event(event, consumed)) return false;
      pending_.erase(0, consumed);
      if (event == ParseEvent::kNeedMore) return true;
    }
    check(false, "parse() makes progress");
    return false;
  }

  // The peer closed the connection.
  void close() {
    if (!head_seen_) return;
    const ParseEvent event = parser_.finish_on_close();
    check(event == ParseEvent::kDone || event == ParseEvent::kError, "finish_on_close result");
    if (event == ParseEvent::kDone) check_complete();
    if (event == ParseEvent::kError) check(is_known_status(parser_.error().status), "status");
  }

 private:
  bool on_event(ParseEvent event, size_t consumed) {
    switch (event) {
      case ParseEvent::kNeedMore:
        check(head_seen_ || consumed == 0, "consumed is 0 while the head is incomplete");
        return true;
      case ParseEvent::kHead:
        on_head(consumed);
        return true;
      case ParseEvent::kBody:
        on_body(consumed);
        return true;
      case ParseEvent::kDone:
        check(head_seen_, "kDone after kHead");
        check(consumed == 0 || parser_.head().framing != Framing::kNone, "kDone without a body");
        check_complete();
        next_message();
        return true;
      case ParseEvent::kError:
        check(consumed == 0, "kError consumes nothing");
        check(is_known_status(parser_.error().status), "kError has a known status");
        check(kind_ == Parser::Kind::kRequest || parser_.error().status == 502, "response 502");
        check(*parser_.error().reason != '\0', "kError has a reason");
        return false;
    }
    check(false, "known event");
    return false;
  }

  void on_head(size_t consumed) {
    check(!head_seen_, "no second kHead without reset()");
    check(consumed > 0, "kHead consumes the head");
    check(parser_.head_done(), "head_done() after kHead");
    const Head& head = parser_.head();
    check(head.is_request() == (kind_ == Parser::Kind::kRequest), "head kind");
    check(head.version == 10 || head.version == 11, "version");
    check(kind_ == Parser::Kind::kResponse || head.framing != Framing::kUntilClose,
          "requests never run until close");
    for (const Field& field : head.fields) {
      check(!field.name.empty(), "field name");
      check(!iequals(field.name, "Content-Length") && !iequals(field.name, "Transfer-Encoding") &&
                !iequals(field.name, "Connection"),
            "framing and hop-by-hop fields are removed");
    }
    head_seen_ = true;
    body_bytes_ = 0;
  }

  void on_body(size_t consumed) {
    check(head_seen_, "kBody after kHead");
    const std::string_view body = parser_.body();
    check(!body.empty(), "a slice is not empty");
    check(body.data() >= pending_.data() &&
              body.data() + body.size() <= pending_.data() + pending_.size(),
          "the slice points into the input");
    check(consumed >= body.size(), "the slice is consumed");
    body_bytes_ += body.size();
    const Head& head = parser_.head();
    check(head.framing != Framing::kNone, "a body only when framed");
    check(head.framing != Framing::kContentLength || body_bytes_ <= head.content_length,
          "no more than Content-Length");
  }

  void check_complete() const {
    const Head& head = parser_.head();
    if (head.framing == Framing::kContentLength) {
      check(body_bytes_ == head.content_length, "body total == Content-Length at kDone");
    }
    if (head.framing == Framing::kNone) check(body_bytes_ == 0, "no body without framing");
  }

  void next_message() {
    parser_.reset();
    parser_.expect_no_body(head_request_);
    head_seen_ = false;
    body_bytes_ = 0;
  }

  Parser parser_;
  const Parser::Kind kind_;
  const bool head_request_;
  std::string pending_;
  bool head_seen_ = false;
  uint64_t body_bytes_ = 0;
};

void drive(Parser::Kind kind, std::string_view stream, size_t split, uint8_t flags) {
  ParserLimits limits;
  if ((flags & 2) != 0) limits = {256, 64};
  Driver driver(kind, limits, (flags & 1) != 0);
  if (driver.receive(stream.substr(0, split)) && driver.receive(stream.substr(split))) {
    driver.close();
  }
}

}  // namespace
}  // namespace ringlb::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t split = data[0] * (stream.size() + 1) / 256;
  try {
    ringlb::http::drive(ringlb::http::Parser::Kind::kRequest, stream, split, data[1]);
    ringlb::http::drive(ringlb::http::Parser::Kind::kResponse, stream, split, data[1]);
  } catch (...) {
    ringlb::http::check(false, "the parser never throws");
  }
  return 0;
}
