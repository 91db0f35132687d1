// What every http_parser_*_test.cpp shares: a Parser fed all of an input at once, the status the
// proxy would answer, and short builders for requests. Inline in a named namespace so each test
// file takes only what it uses.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/http/http_parser.hpp"

namespace ringlb::http::parser_test {

using Events = std::vector<ParseEvent>;
inline constexpr ParseEvent kNeedMore = ParseEvent::kNeedMore;
inline constexpr ParseEvent kHead = ParseEvent::kHead;
inline constexpr ParseEvent kBody = ParseEvent::kBody;
inline constexpr ParseEvent kDone = ParseEvent::kDone;
inline constexpr ParseEvent kError = ParseEvent::kError;

// What a caller that holds all of `input` at once sees: events up to kDone, kError or kNeedMore.
struct Outcome {
  Events events;
  std::string body;
  size_t consumed = 0;
};

inline Outcome run(Parser& parser, std::string_view input) {
  Outcome result;
  for (;;) {
    size_t consumed = 0;
    const ParseEvent event = parser.parse(input.substr(result.consumed), consumed);
    EXPECT_LE(consumed, input.size() - result.consumed);
    if (event == kError) {
      EXPECT_EQ(consumed, 0u) << "kError claims no bytes";
    }
    result.consumed += consumed;
    result.events.push_back(event);
    if (event == kBody) result.body += parser.body();
    if (event == kNeedMore || event == kDone || event == kError) return result;
  }
}

inline Parser request_parser(ParserLimits limits = {}) {
  return Parser(Parser::Kind::kRequest, limits);
}
inline Parser response_parser() { return Parser(Parser::Kind::kResponse, {}); }

// The status the proxy answers for this request; 0 if it was accepted.
inline unsigned request_status(std::string_view input, ParserLimits limits = {}) {
  Parser parser(Parser::Kind::kRequest, limits);
  const Outcome result = run(parser, input);
  if (result.events.back() != kError) return 0;
  return parser.error().status;
}

inline unsigned response_status(std::string_view input, bool head_request = false) {
  Parser parser(Parser::Kind::kResponse, {});
  parser.expect_no_body(head_request);
  const Outcome result = run(parser, input);
  return result.events.back() == kError ? parser.error().status : 0;
}

inline std::string get_with(std::string_view fields) {
  return "GET / HTTP/1.1\r\nHost: h\r\n" + std::string(fields) + "\r\n";
}

inline std::string post_with(std::string_view fields, std::string_view body = "") {
  return "POST /p HTTP/1.1\r\nHost: h\r\n" + std::string(fields) + "\r\n" + std::string(body);
}

inline bool has_field(const Head& head, std::string_view name) {
  for (const Field& field : head.fields) {
    if (iequals(field.name, name)) return true;
  }
  return false;
}

}  // namespace ringlb::http::parser_test
