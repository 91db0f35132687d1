// The head policy of http-hardening.md, free of Beast: collects a start line and fields, then
// decides what the message means (target form, Host, framing, hop-by-hop fields, upgrade) or why
// it is refused. The parser (the Beast adapter) feeds it; nothing outside core/http uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/http_hardening.hpp"
#include "core/http/http_message.hpp"
#include "core/http/http_parser.hpp"

namespace ringlb::http {

// What a field is to the policy; the adapter maps the wire parser's known names onto it.
enum class FieldKind : uint8_t {
  kEndToEnd,
  kHost,
  kContentLength,
  kTransferEncoding,
  kConnection,
  kUpgrade,
  kExpect,
  kHopByHop,  // dropped without a look: Keep-Alive, Proxy-Connection, TE, Trailer, HTTP2-Settings
};

// Beast's basic_fields throws std::length_error past this; we refuse it the same way (431).
inline constexpr size_t kMaxFieldBytes = size_t{64} * 1024;

// Framing facts that only the wire parser holds, handed over when the head is complete.
struct FramingFacts {
  std::optional<uint64_t> content_length;
  bool skip_body = false;  // a response to HEAD
};

// The wire parser's length and coding errors, which explain() names more exactly.
enum class LengthError { kBadContentLength, kMultipleContentLength, kBadTransferEncoding };

// Collects the start line and fields into its own arena, then applies the head policy and builds
// the Head. Its memory is kept across messages: after warm-up a head costs no allocation.
class HeadBuilder {
 public:
  HeadBuilder(bool is_request, const ParserLimits& limits);
  void clear();
  void set_request_line(std::string_view method, std::string_view target, unsigned version);
  void set_status_line(unsigned status, std::string_view reason, unsigned version);
  // Inline, as it runs for every field of every message.
  ParseError add_field(FieldKind kind, std::string_view name, std::string_view value) {
    if (name.size() + value.size() > kMaxFieldBytes) return {431, "header field over 64 KiB"};
    if (is_request_ && !limits_.underscores_in_headers && has_underscore(name)) {
      drop_underscore_field(name);
      return {};
    }
    const Span name_span = store(name);
    raw_fields_.push_back({name_span, store(value), kind});
    return {};
  }
  // Applies the policy to the complete head and builds head(); an error refuses the message.
  ParseError finish(const FramingFacts& facts);
  // Names the conflict behind the wire parser's Content-Length / Transfer-Encoding errors.
  ParseError explain(LengthError error) const;
  const Head& head() const { return head_; }
  // The head's Connection names this field: it is hop-by-hop (RFC 9110 §7.6.1). Valid after
  // finish() until clear().
  bool named_in_connection(std::string_view name) const;

 private:
  // Where a piece of the head sits in the arena. Views are made only once the arena stops
  // growing.
  struct Span {
    size_t offset = 0;
    size_t length = 0;
  };
  struct RawField {
    Span name;
    Span value;
    FieldKind kind;
  };
  // What the fields say when read together. Views into the arena.
  struct FieldSummary {
    unsigned host_lines = 0;
    std::string_view host;
    unsigned transfer_encoding_lines = 0;
    bool content_length = false;
    unsigned upgrade_lines = 0;
    std::string_view upgrade;
    bool close = false;
    bool keep_alive = false;
    bool connection_upgrade = false;
  };
  // What Transfer-Encoding says once all its lines are read as one list (RFC 9112 §6.1, §6.3).
  enum class Coding { kChunked, kChunkedTwice, kNotEndingInChunked, kUnsupportedCoding };

  Span store(std::string_view text) {
    const Span span{arena_.size(), text.size()};
    arena_.append(text);
    return span;
  }
  static void drop_underscore_field(std::string_view name);
  std::string_view view(Span span) const { return {arena_.data() + span.offset, span.length}; }
  bool seen(FieldKind kind) const;
  ParseError resolve_target();
  ParseError rewrite_absolute_form(std::string_view target);
  ParseError summarize();
  void note_connection_options(std::string_view value);
  Coding transfer_coding() const;
  ParseError check_request(const FramingFacts& facts);
  ParseError check_host();
  ParseError check_request_framing(const FramingFacts& facts);
  ParseError check_response(const FramingFacts& facts);
  ParseError check_response_framing(const FramingFacts& facts);
  void build_head();
  std::string_view normalized_host(std::string_view host);
  void decide_upgrade();

  const bool is_request_;
  const ParserLimits& limits_;  // the owning parser's, which set_limits() changes
  std::string arena_;
  std::vector<RawField> raw_fields_;
  std::vector<std::string_view> connection_options_;
  Span method_;
  Span target_;  // as received
  Span origin_;  // what is forwarded
  Span authority_;
  bool absolute_form_ = false;
  Span reason_;
  FieldSummary summary_;
  Head head_;
};

}  // namespace ringlb::http
