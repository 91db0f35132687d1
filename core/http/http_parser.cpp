// Drives Boost.Beast's basic_parser over caller-owned bytes and adds ringlb's framing policy
// (docs/http-hardening.md) on top, so a message gets exactly one meaning or an error status. The
// only file that includes Beast: it is slow to compile.
#include "core/http/http_parser.hpp"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/version.hpp>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/base/log.hpp"
#include "core/http/http_hardening.hpp"

namespace ringlb::http {
namespace {

namespace bhttp = boost::beast::http;
using boost::beast::error_code;

// RFC 9112 §7.1.1 sets no bound on a chunk line; HAProxy and nginx cap it about here.
constexpr size_t kMaxChunkLine = 4096;  // chunk-size plus extensions, without the CRLF
// Beast's basic_fields throws std::length_error past this; we refuse it the same way (431).
constexpr size_t kMaxFieldBytes = size_t{64} * 1024;
// Each Connection option is compared with every field; the cap keeps that product small.
constexpr size_t kMaxConnectionOptions = 64;

std::string_view to_std(boost::beast::string_view s) { return {s.data(), s.size()}; }

bool is_ows(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

template <typename Pred>
bool all_of(std::string_view s, Pred pred) {
  return std::all_of(s.begin(), s.end(), pred);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Calls visit(item) for each non-empty element of a comma-separated list (RFC 9110 §5.6.1).
template <typename Visit>
void for_each_list_item(std::string_view list, Visit visit) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (!item.empty()) visit(item);
  }
}

// A well-formed "HTTP/x.y" other than 1.0 and 1.1 is 505 (RFC 9110 §15.6.6); Beast calls any
// version error bad_version, which is a 400. This includes the HTTP/2 preface "PRI * HTTP/2.0".
bool is_unsupported_version(std::string_view request_line) {
  if (request_line.size() < 9) return false;
  const std::string_view v = request_line.substr(request_line.size() - 9);
  if (v.substr(0, 6) != " HTTP/" || !is_digit(v[6]) || v[7] != '.' || !is_digit(v[8])) {
    return false;
  }
  return !(v[6] == '1' && (v[8] == '0' || v[8] == '1'));
}

// The chunk-size of a line is zero: the last chunk, followed by the trailers.
bool is_last_chunk(std::string_view line) {
  size_t digits = 0;
  while (digits < line.size() && is_hex_digit(line[digits])) {
    if (line[digits] != '0') return false;
    ++digits;
  }
  return digits > 0;
}

// Where a piece of the head sits in the arena. Views are made only once the arena stops growing.
struct Span {
  size_t offset = 0;
  size_t length = 0;
};

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

FieldKind classify(bhttp::field known) {
  switch (known) {
    case bhttp::field::host:
      return FieldKind::kHost;
    case bhttp::field::content_length:
      return FieldKind::kContentLength;
    case bhttp::field::transfer_encoding:
      return FieldKind::kTransferEncoding;
    case bhttp::field::connection:
      return FieldKind::kConnection;
    case bhttp::field::upgrade:
      return FieldKind::kUpgrade;
    case bhttp::field::expect:
      return FieldKind::kExpect;
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::http2_settings:
      return FieldKind::kHopByHop;
    default:
      return FieldKind::kEndToEnd;
  }
}

// What Transfer-Encoding says once all its lines are read as one list (RFC 9112 §6.1, §6.3).
enum class Coding { kChunked, kChunkedTwice, kNotEndingInChunked, kUnsupportedCoding };

// Framing facts that only Beast holds, handed over when the head is complete.
struct BeastFacts {
  std::optional<uint64_t> content_length;
  bool skip_body = false;  // a response to HEAD
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

// Collects the start line and fields into its own arena, then applies the head policy and builds
// the Head. Its memory is kept across messages: after warm-up a head costs no allocation.
class HeadBuilder {
 public:
  HeadBuilder(bool is_request, const ParserLimits& limits);
  void clear();
  void set_request_line(std::string_view method, std::string_view target, unsigned version);
  void set_status_line(unsigned status, std::string_view reason, unsigned version);
  ParseError add_field(bhttp::field known, std::string_view name, std::string_view value);
  // Applies the policy to the complete head and builds head(); an error refuses the message.
  ParseError finish(const BeastFacts& facts);
  // Names the conflict behind Beast's Content-Length / Transfer-Encoding errors.
  ParseError explain(const error_code& ec) const;
  const Head& head() const { return head_; }

 private:
  struct RawField {
    Span name;
    Span value;
    FieldKind kind;
  };

  Span store(std::string_view text);
  std::string_view view(Span span) const { return {arena_.data() + span.offset, span.length}; }
  bool seen(FieldKind kind) const;
  ParseError resolve_target();
  ParseError rewrite_absolute_form(std::string_view target);
  ParseError summarize();
  void note_connection_options(std::string_view value);
  Coding transfer_coding() const;
  ParseError check_request(const BeastFacts& facts);
  ParseError check_host();
  ParseError check_request_framing(const BeastFacts& facts);
  ParseError check_response(const BeastFacts& facts);
  ParseError check_response_framing(const BeastFacts& facts);
  void build_head();
  std::string_view normalized_host(std::string_view host);
  void decide_upgrade();
  bool named_in_connection(std::string_view name) const;

  const bool is_request_;
  const ParserLimits& limits_;  // the owning Impl's, which set_limits() changes
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

HeadBuilder::HeadBuilder(bool is_request, const ParserLimits& limits)
    : is_request_(is_request), limits_(limits) {
  arena_.reserve(1024);
  raw_fields_.reserve(32);
  head_.fields.reserve(32);
}

void HeadBuilder::clear() {
  arena_.clear();
  raw_fields_.clear();
  connection_options_.clear();
  method_ = target_ = origin_ = authority_ = reason_ = {};
  absolute_form_ = false;
  summary_ = {};
  head_.fields.clear();
  std::vector<Field> fields = std::move(head_.fields);  // keeps its capacity
  head_ = {};
  head_.fields = std::move(fields);
}

Span HeadBuilder::store(std::string_view text) {
  const Span span{arena_.size(), text.size()};
  arena_.append(text);
  return span;
}

void HeadBuilder::set_request_line(std::string_view method, std::string_view target,
                                   unsigned version) {
  method_ = store(method);
  target_ = store(target);
  head_.version = version;
}

void HeadBuilder::set_status_line(unsigned status, std::string_view reason, unsigned version) {
  reason_ = store(reason);
  head_.status = status;
  head_.version = version;
}

ParseError HeadBuilder::add_field(bhttp::field known, std::string_view name,
                                  std::string_view value) {
  if (name.size() + value.size() > kMaxFieldBytes) return {431, "header field over 64 KiB"};
  if (is_request_ && !limits_.underscores_in_headers && has_underscore(name)) {
    LOG_DEBUG("dropped request field '%.*s': '_' in its name (underscores_in_headers = false)",
              static_cast<int>(std::min<size_t>(name.size(), 128)), name.data());
    return {};
  }
  const Span name_span = store(name);
  raw_fields_.push_back({name_span, store(value), classify(known)});
  return {};
}

bool HeadBuilder::seen(FieldKind kind) const {
  return std::any_of(raw_fields_.begin(), raw_fields_.end(),
                     [kind](const RawField& raw) { return raw.kind == kind; });
}

ParseError HeadBuilder::explain(const error_code& ec) const {
  const ParseError both{400, "Content-Length with Transfer-Encoding"};
  if (ec == bhttp::error::bad_transfer_encoding) {
    return seen(FieldKind::kContentLength) ? both
                                           : ParseError{400, "Transfer-Encoding after chunked"};
  }
  if (ec == bhttp::error::multiple_content_length) return {400, "Content-Length values differ"};
  return seen(FieldKind::kTransferEncoding) ? both : ParseError{400, "bad Content-Length"};
}

ParseError HeadBuilder::finish(const BeastFacts& facts) {
  // The target rewrite may append to the arena, so it runs before any view is taken.
  if (is_request_) {
    if (ParseError e = resolve_target(); e.status != 0) return e;
  }
  if (ParseError e = summarize(); e.status != 0) return e;
  if (ParseError e = is_request_ ? check_request(facts) : check_response(facts); e.status != 0) {
    return e;
  }
  build_head();
  return {};
}

ParseError HeadBuilder::resolve_target() {
  const std::string_view method = view(method_);
  const std::string_view target = view(target_);
  // ringlb is no forward proxy. 501 rather than 405, which would need an Allow list.
  if (method == "CONNECT") return {501, "CONNECT is not supported"};
  if (!all_of(target, is_target_char)) return {400, "forbidden character in the request target"};
  origin_ = target_;
  if (target == "*") {
    return method == "OPTIONS" ? ParseError{} : ParseError{400, "asterisk-form without OPTIONS"};
  }
  if (target.front() == '/') return {};
  return rewrite_absolute_form(target);
}

// RFC 9112 §3.2.2: route on the authority, forward origin-form, ignore the Host field's value.
ParseError HeadBuilder::rewrite_absolute_form(std::string_view target) {
  const size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return {400, "authority-form without CONNECT"};
  const std::string_view scheme = target.substr(0, scheme_end);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) {
    return {400, "absolute-form with a scheme other than http"};
  }
  const size_t authority_start = scheme_end + 3;
  const size_t path_start = std::min(target.find_first_of("/?", authority_start), target.size());
  const std::string_view authority = target.substr(authority_start, path_start - authority_start);
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      !valid_host(authority)) {
    return {400, "bad authority in the absolute-form target"};
  }
  absolute_form_ = true;
  authority_ = {target_.offset + authority_start, authority.size()};
  const Span path{target_.offset + path_start, target.size() - path_start};
  if (path.length > 0 && target[path_start] == '/') {
    origin_ = path;
  } else if (path.length == 0 && view(method_) == "OPTIONS") {
    origin_ = store("*");  // RFC 9112 §3.2.4
  } else {
    // "http://h" or "http://h?q": the path is empty, origin-form starts it with '/'. Reserve
    // first so that copying from the arena into itself never reads freed memory.
    arena_.reserve(arena_.size() + 1 + path.length);
    origin_ = store("/");
    arena_.append(arena_.data() + path.offset, path.length);
    origin_.length += path.length;
  }
  return {};
}

ParseError HeadBuilder::summarize() {
  for (const RawField& raw : raw_fields_) {
    const std::string_view value = view(raw.value);
    switch (raw.kind) {
      case FieldKind::kHost:
        ++summary_.host_lines;
        summary_.host = value;
        break;
      case FieldKind::kContentLength:
        summary_.content_length = true;
        break;
      case FieldKind::kTransferEncoding:
        ++summary_.transfer_encoding_lines;
        break;
      case FieldKind::kConnection:
        note_connection_options(value);
        break;
      case FieldKind::kUpgrade:
        ++summary_.upgrade_lines;
        summary_.upgrade = value;
        break;
      default:
        break;
    }
  }
  if (connection_options_.size() > kMaxConnectionOptions) {
    return {400, "too many Connection options"};
  }
  return {};
}

void HeadBuilder::note_connection_options(std::string_view value) {
  for_each_list_item(value, [this](std::string_view option) {
    if (iequals(option, "close")) {
      summary_.close = true;
    } else if (iequals(option, "keep-alive")) {
      summary_.keep_alive = true;
    } else if (iequals(option, "upgrade")) {
      summary_.connection_upgrade = true;
    } else {
      connection_options_.push_back(option);
    }
  });
}

Coding HeadBuilder::transfer_coding() const {
  unsigned chunked = 0;
  bool others = false;
  bool last_is_chunked = false;
  for (const RawField& raw : raw_fields_) {
    if (raw.kind != FieldKind::kTransferEncoding) continue;
    for_each_list_item(view(raw.value), [&](std::string_view coding) {
      last_is_chunked = iequals(coding, "chunked");
      chunked += last_is_chunked ? 1 : 0;
      others |= !last_is_chunked;
    });
  }
  if (chunked > 1) return Coding::kChunkedTwice;
  if (!last_is_chunked) return Coding::kNotEndingInChunked;
  return others ? Coding::kUnsupportedCoding : Coding::kChunked;
}

ParseError HeadBuilder::check_request(const BeastFacts& facts) {
  if (ParseError e = check_host(); e.status != 0) return e;
  return check_request_framing(facts);
}

// RFC 9112 §3.2: 400 for a missing Host in HTTP/1.1 and for more than one Host in any version.
ParseError HeadBuilder::check_host() {
  if (summary_.host_lines > 1) return {400, "more than one Host"};
  if (summary_.host_lines == 0 && head_.version >= 11) return {400, "missing Host"};
  if (!valid_host(summary_.host)) return {400, "bad Host"};
  return {};
}

ParseError HeadBuilder::check_request_framing(const BeastFacts& facts) {
  if (summary_.transfer_encoding_lines > 0) {
    if (head_.version < 11) return {400, "Transfer-Encoding in an HTTP/1.0 request"};
    if (summary_.content_length) return {400, "Content-Length with Transfer-Encoding"};
    switch (transfer_coding()) {
      case Coding::kChunkedTwice:
        return {400, "chunked applied more than once"};
      case Coding::kNotEndingInChunked:  // RFC 9112 §6.3 rule 4: a MUST for 400
        return {400, "Transfer-Encoding not ending in chunked"};
      case Coding::kUnsupportedCoding:  // RFC 9112 §6.1: a coding we do not understand
        return {501, "unsupported transfer coding"};
      case Coding::kChunked:
        head_.framing = Framing::kChunked;
        return {};
    }
  }
  if (!facts.content_length) return {};
  if (facts.content_length > kMaxContentLength) return {400, "Content-Length over 2^63-1"};
  head_.framing = Framing::kContentLength;
  head_.content_length = *facts.content_length;
  if (limits_.max_body_bytes != 0 && head_.content_length > limits_.max_body_bytes) {
    return {413, "body over the limit"};
  }
  return {};
}

ParseError HeadBuilder::check_response(const BeastFacts& facts) {
  if (head_.status < 100 || head_.status > 599) return {502, "bad status code"};
  if (summary_.transfer_encoding_lines > 0) {
    if (summary_.content_length) return {502, "Content-Length with Transfer-Encoding"};
    if (head_.version < 11) return {502, "Transfer-Encoding in an HTTP/1.0 response"};
    // Anything but plain chunked would have to be passed on coded, with a framing we dropped.
    if (transfer_coding() != Coding::kChunked) return {502, "unsupported transfer coding"};
  }
  return check_response_framing(facts);
}

ParseError HeadBuilder::check_response_framing(const BeastFacts& facts) {
  const unsigned status = head_.status;
  if (facts.content_length > kMaxContentLength) return {502, "Content-Length over 2^63-1"};
  if (facts.skip_body || status == 304) {
    // No body follows, but the length a GET would have had is still news for the client.
    if (facts.content_length && summary_.transfer_encoding_lines == 0) {
      head_.content_length = *facts.content_length;
      head_.declares_length = true;
    }
    return {};
  }
  if (status / 100 == 1 || status == 204) return {};
  if (summary_.transfer_encoding_lines > 0) {
    head_.framing = Framing::kChunked;
  } else if (facts.content_length) {
    head_.framing = Framing::kContentLength;
    head_.content_length = *facts.content_length;
    if (limits_.max_body_bytes != 0 && head_.content_length > limits_.max_body_bytes) {
      return {502, "response body over the limit"};
    }
  } else {
    head_.framing = Framing::kUntilClose;
  }
  return {};
}

bool HeadBuilder::named_in_connection(std::string_view name) const {
  return std::any_of(connection_options_.begin(), connection_options_.end(),
                     [name](std::string_view option) { return iequals(option, name); });
}

// Rewritten in the arena, so that routing, X-Forwarded-Host and the forwarded Host agree.
std::string_view HeadBuilder::normalized_host(std::string_view host) {
  if (host.empty()) return host;
  return normalize_host({arena_.data() + (host.data() - arena_.data()), host.size()});
}

void HeadBuilder::build_head() {
  if (is_request_) {
    head_.method = view(method_);
    head_.target = view(origin_);
    head_.host = normalized_host(absolute_form_ ? view(authority_) : summary_.host);
  } else {
    head_.reason = view(reason_);
  }
  for (const RawField& raw : raw_fields_) {
    const bool end_to_end = raw.kind == FieldKind::kEndToEnd || raw.kind == FieldKind::kExpect ||
                            (raw.kind == FieldKind::kHost && !is_request_);
    if (!end_to_end || named_in_connection(view(raw.name))) continue;
    head_.fields.push_back({view(raw.name), view(raw.value)});
    // Only an expectation the backend will see; HTTP/1.0 ignores it (RFC 9110 §10.1.1).
    if (raw.kind == FieldKind::kExpect && is_request_ && head_.version >= 11) {
      head_.expect_continue |= iequals(view(raw.value), "100-continue");
    }
  }
  const bool persistent =
      head_.version >= 11 ? !summary_.close : summary_.keep_alive && !summary_.close;
  head_.keep_alive = persistent && head_.framing != Framing::kUntilClose;
  decide_upgrade();
}

// Only a WebSocket upgrade is tunnelled (RFC 6455 §4.1: HTTP/1.1 GET, no body); any other
// Upgrade (h2c) is dropped with the hop-by-hop fields and the request goes on as plain HTTP/1.1.
void HeadBuilder::decide_upgrade() {
  if (!is_request_) {
    head_.upgrade_websocket = head_.status == 101;
    if (head_.upgrade_websocket && summary_.upgrade_lines == 1) head_.upgrade = summary_.upgrade;
    return;
  }
  head_.upgrade_websocket = head_.version >= 11 && head_.method == "GET" &&
                            summary_.connection_upgrade && summary_.upgrade_lines == 1 &&
                            iequals(summary_.upgrade, "websocket") &&
                            head_.framing == Framing::kNone;
  if (head_.upgrade_websocket) head_.upgrade = summary_.upgrade;
}

// Finds the blank line that ends a head or a trailer section. It resumes where the previous call
// stopped, as the caller presents the same bytes again with more appended, so each byte is looked
// at once. It also refuses what Beast would quietly accept or wait on: bare LF, obs-fold.
class BlockScanner {
 public:
  enum class Result { kNeedMore, kFound, kTooLarge, kBareLf, kObsFold };
  // Requests may be preceded by blank lines, which are skipped (RFC 9112 §2.2).
  void reset(bool skip_leading_blank_lines) {
    *this = BlockScanner{};
    skip_leading_ = skip_leading_blank_lines;
  }
  Result scan(std::string_view in, uint64_t limit);
  size_t lead() const { return lead_; }
  // The first line without its CRLF, once seen.
  std::string_view first_line(std::string_view in) const {
    return first_line_end_ == 0 ? std::string_view{}
                                : in.substr(lead_, first_line_end_ - 2 - lead_);
  }
  bool first_line_seen() const { return first_line_end_ != 0; }

 private:
  size_t pos_ = 0;             // next byte to look at
  size_t line_start_ = 0;      // where the current line starts
  size_t lead_ = 0;            // bytes of skipped leading blank lines
  size_t first_line_end_ = 0;  // one past the first line's LF; 0 until seen
  bool skip_leading_ = false;
};

BlockScanner::Result BlockScanner::scan(std::string_view in, uint64_t limit) {
  const size_t window = static_cast<size_t>(std::min<uint64_t>(in.size(), limit));
  while (pos_ < window) {
    const void* hit = std::memchr(in.data() + pos_, '\n', window - pos_);
    if (hit == nullptr) {
      pos_ = window;
      break;
    }
    const size_t lf = static_cast<size_t>(static_cast<const char*>(hit) - in.data());
    if (lf == 0 || in[lf - 1] != '\r') return Result::kBareLf;
    if (lf == line_start_ + 1) {  // a blank line
      if (!skip_leading_ || first_line_end_ != 0) return Result::kFound;
      lead_ = line_start_ = pos_ = lf + 1;
      continue;
    }
    // A line starting with SP or HTAB continues the previous one (obs-fold, RFC 9112 §5.2).
    if (lf + 1 == in.size()) {
      pos_ = lf;  // look at this LF again once the next byte is here
      return Result::kNeedMore;
    }
    if (is_ows(in[lf + 1])) return Result::kObsFold;
    if (first_line_end_ == 0) first_line_end_ = lf + 1;
    line_start_ = pos_ = lf + 1;
  }
  return !in.empty() && window == limit ? Result::kTooLarge : Result::kNeedMore;
}

}  // namespace

// Feeds Beast, stops it after the head and after each body slice, and keeps the verdict.
struct Parser::Impl {
  Impl(Kind kind, ParserLimits limits);
  void reset();
  void set_limits(ParserLimits limits);
  void expect_no_body(bool no_body);
  ParseEvent parse(std::string_view input, size_t& consumed);
  ParseEvent finish_on_close();

  // Called back by Beast while put() runs.
  void on_request_line(std::string_view method, std::string_view target, int version,
                       error_code& ec);
  void on_status_line(int status, std::string_view reason, int version, error_code& ec);
  void on_field(bhttp::field known, std::string_view name, std::string_view value, error_code& ec);
  void on_header(const BeastFacts& facts, error_code& ec);
  size_t on_body(std::string_view slice, error_code& ec);
  void on_chunk_header(uint64_t size, std::string_view extensions, error_code& ec);
  size_t on_chunk_body(uint64_t remain, std::string_view slice, error_code& ec);

  ParseEvent parse_head(std::string_view input, size_t& consumed);
  ParseEvent parse_body(std::string_view input, size_t& consumed);
  ParseError check_chunk_line(std::string_view input);
  ParseError check_trailers(std::string_view trailers);
  ParseError head_too_large() const;
  ParseError from_beast(const error_code& ec) const;
  size_t put(std::string_view input, error_code& ec);
  void put_eof(error_code& ec);
  bool beast_done() const;
  size_t deliver(std::string_view slice, error_code& ec);
  void refuse(ParseError error, error_code& ec);
  ParseEvent fail(ParseError error);

  // Beast's parser with every callback handed to Impl. Beast cannot be restarted, so reset()
  // rebuilds it in place (no allocation: it owns no buffer when fed one contiguous buffer).
  template <bool kIsRequest>
  class Beast final : public bhttp::basic_parser<kIsRequest> {
   public:
    Beast(Impl& impl, const ParserLimits& limits) : impl_(impl) {
      const uint64_t header_limit = std::min<uint64_t>(limits.max_header_bytes, UINT32_MAX);
      this->header_limit(static_cast<uint32_t>(header_limit));
      this->body_limit(boost::none);  // ringlb counts the body itself, for 413 and not 400
      this->eager(true);
    }

   private:
    void on_request_impl(bhttp::verb, boost::beast::string_view method,
                         boost::beast::string_view target, int version, error_code& ec) override {
      impl_.on_request_line(to_std(method), to_std(target), version, ec);
    }
    void on_response_impl(int status, boost::beast::string_view reason, int version,
                          error_code& ec) override {
      impl_.on_status_line(status, to_std(reason), version, ec);
    }
    void on_field_impl(bhttp::field known, boost::beast::string_view name,
                       boost::beast::string_view value, error_code& ec) override {
      impl_.on_field(known, to_std(name), to_std(value), ec);
    }
    void on_header_impl(error_code& ec) override {
      const boost::optional<uint64_t> length = this->content_length();
      BeastFacts facts;
      if (length) facts.content_length = *length;
      facts.skip_body = this->skip();
      impl_.on_header(facts, ec);
    }
    void on_body_init_impl(const boost::optional<uint64_t>&, error_code&) override {}
    size_t on_body_impl(boost::beast::string_view body, error_code& ec) override {
      return impl_.on_body(to_std(body), ec);
    }
    void on_chunk_header_impl(uint64_t size, boost::beast::string_view extensions,
                              error_code& ec) override {
      impl_.on_chunk_header(size, to_std(extensions), ec);
    }
    size_t on_chunk_body_impl(uint64_t remain, boost::beast::string_view body,
                              error_code& ec) override {
      return impl_.on_chunk_body(remain, to_std(body), ec);
    }
    void on_finish_impl(error_code&) override {}

    Impl& impl_;
  };

  const bool is_request_;
  ParserLimits limits_;
  HeadBuilder builder_;
  BlockScanner head_scan_;
  BlockScanner trailer_scan_;
  std::optional<Beast<true>> request_;
  std::optional<Beast<false>> response_;
  bool no_body_ = false;
  bool head_done_ = false;
  bool done_ = false;
  bool in_trailers_ = false;
  bool paused_ = false;              // Beast stopped at a slice; slice_ holds it
  bool chunk_crlf_pending_ = false;  // a CRLF ends the previous chunk's data
  uint64_t chunk_remaining_ = 0;
  uint64_t body_bytes_ = 0;
  std::string_view slice_;
  ParseError error_;
};

Parser::Impl::Impl(Kind kind, ParserLimits limits)
    : is_request_(kind == Kind::kRequest), limits_(limits), builder_(is_request_, limits_) {
  if (is_request_) {
    request_.emplace(*this, limits_);
  } else {
    response_.emplace(*this, limits_);
  }
  head_scan_.reset(is_request_);
}

void Parser::Impl::reset() {
  builder_.clear();
  head_scan_.reset(is_request_);
  trailer_scan_.reset(false);
  no_body_ = head_done_ = done_ = in_trailers_ = paused_ = chunk_crlf_pending_ = false;
  chunk_remaining_ = body_bytes_ = 0;
  slice_ = {};
  error_ = {};
  if (is_request_) {
    request_.emplace(*this, limits_);
  } else {
    response_.emplace(*this, limits_);
  }
}

void Parser::Impl::set_limits(ParserLimits limits) {
  limits_ = limits;
  // Beast's header limit is fixed once it has seen a byte; until then it is rebuilt to match.
  if (head_done_ || (is_request_ ? request_->got_some() : response_->got_some())) return;
  if (is_request_) {
    request_.emplace(*this, limits_);
  } else {
    response_.emplace(*this, limits_);
    response_->skip(no_body_);
  }
}

void Parser::Impl::expect_no_body(bool no_body) {
  // Beast takes it only before its first byte, which it sees once the whole head is here.
  if (is_request_ || response_->got_some()) return;
  no_body_ = no_body;
  response_->skip(no_body);
}

ParseEvent Parser::Impl::parse(std::string_view input, size_t& consumed) {
  consumed = 0;
  if (error_.status != 0) return ParseEvent::kError;
  try {
    const ParseEvent event = head_done_ ? parse_body(input, consumed) : parse_head(input, consumed);
    if (event == ParseEvent::kError) consumed = 0;
    return event;
  } catch (const std::length_error&) {
    consumed = 0;
    return fail({431, "header field too large"});
  } catch (...) {  // nothing may reach the event loop; the message is refused instead
    consumed = 0;
    return fail({400, "parser failure"});
  }
}

ParseEvent Parser::Impl::parse_head(std::string_view input, size_t& consumed) {
  switch (head_scan_.scan(input, limits_.max_header_bytes)) {
    case BlockScanner::Result::kNeedMore:
      return ParseEvent::kNeedMore;
    case BlockScanner::Result::kTooLarge:
      return fail(head_too_large());
    case BlockScanner::Result::kBareLf:
      return fail({400, "bare LF in the head"});
    case BlockScanner::Result::kObsFold:
      return fail({400, "obs-fold in the head"});
    case BlockScanner::Result::kFound:
      break;
  }
  if (is_request_ && is_unsupported_version(head_scan_.first_line(input))) {
    return fail({505, "HTTP version not supported"});
  }
  error_code ec;
  const size_t used = put(input.substr(head_scan_.lead()), ec);
  if (error_.status != 0) return ParseEvent::kError;
  if (!head_done_) return fail(ec ? from_beast(ec) : ParseError{400, "malformed head"});
  consumed = head_scan_.lead() + used;
  return ParseEvent::kHead;
}

ParseError Parser::Impl::head_too_large() const {
  if (is_request_ && !head_scan_.first_line_seen()) return {414, "request line too long"};
  return {431, "head too large"};
}

ParseEvent Parser::Impl::parse_body(std::string_view input, size_t& consumed) {
  if (done_ || beast_done()) {
    done_ = true;
    return ParseEvent::kDone;
  }
  if (builder_.head().framing == Framing::kChunked && chunk_remaining_ == 0) {
    if (ParseError e = check_chunk_line(input); e.status != 0) return fail(e);
  }
  paused_ = false;
  slice_ = {};
  error_code ec;
  consumed = put(input, ec);
  if (consumed > 0) trailer_scan_.reset(false);  // its offsets were relative to this input
  if (error_.status != 0) return ParseEvent::kError;
  if (paused_) return ParseEvent::kBody;
  if (beast_done()) {
    done_ = true;
    return ParseEvent::kDone;
  }
  if (ec && ec != bhttp::error::need_more) return fail(from_beast(ec));
  return ParseEvent::kNeedMore;
}

// Beast bounds neither a chunk line nor the trailers: it would wait for their end forever.
ParseError Parser::Impl::check_chunk_line(std::string_view input) {
  const size_t start = chunk_crlf_pending_ ? 2 : 0;
  if (input.size() <= start) return {};
  const size_t bound = start + kMaxChunkLine + 2;
  const size_t window = std::min(input.size(), bound);
  const void* hit = std::memchr(input.data() + start, '\n', window - start);
  if (hit == nullptr) {
    return window == bound ? ParseError{400, "chunk line over 4 KiB"} : ParseError{};
  }
  const size_t line_end = static_cast<const char*>(hit) - input.data() + 1;
  if (!is_last_chunk(input.substr(start))) return {};
  return check_trailers(input.substr(line_end));
}

// Trailers are dropped, but first they must fit in max_header_bytes like a head (else 400).
ParseError Parser::Impl::check_trailers(std::string_view trailers) {
  switch (trailer_scan_.scan(trailers, limits_.max_header_bytes)) {
    case BlockScanner::Result::kTooLarge:
      return {400, "trailers too large"};
    case BlockScanner::Result::kBareLf:
      return {400, "bare LF in the trailers"};
    case BlockScanner::Result::kObsFold:
      return {400, "obs-fold in the trailers"};
    default:
      return {};
  }
}

ParseEvent Parser::Impl::finish_on_close() {
  if (error_.status != 0) return ParseEvent::kError;
  if (!head_done_) return fail({400, "closed before the head was complete"});
  const Head& head = builder_.head();
  if (done_ || beast_done() ||
      (head.framing == Framing::kContentLength && body_bytes_ == head.content_length)) {
    done_ = true;
    return ParseEvent::kDone;
  }
  error_code ec;
  try {
    put_eof(ec);
  } catch (...) {
    return fail({400, "parser failure"});
  }
  if (error_.status != 0) return ParseEvent::kError;
  if (ec) return fail({400, "closed in the middle of the body"});
  done_ = true;
  return ParseEvent::kDone;
}

void Parser::Impl::on_request_line(std::string_view method, std::string_view target, int version,
                                   error_code&) {
  builder_.set_request_line(method, target, static_cast<unsigned>(version));
}

void Parser::Impl::on_status_line(int status, std::string_view reason, int version, error_code&) {
  builder_.set_status_line(static_cast<unsigned>(status), reason, static_cast<unsigned>(version));
}

void Parser::Impl::on_field(bhttp::field known, std::string_view name, std::string_view value,
                            error_code& ec) {
  if (in_trailers_) return;  // dropped: never forwarded, never merged into the head
  if (ParseError e = builder_.add_field(known, name, value); e.status != 0) refuse(e, ec);
}

void Parser::Impl::on_header(const BeastFacts& facts, error_code& ec) {
  if (ParseError e = builder_.finish(facts); e.status != 0) return refuse(e, ec);
  head_done_ = true;
  ec = bhttp::error::need_buffer;  // stop: the caller gets kHead before any body byte
}

size_t Parser::Impl::on_body(std::string_view slice, error_code& ec) {
  if (limits_.max_body_bytes != 0 && slice.size() > limits_.max_body_bytes - body_bytes_) {
    refuse({413, "body over the limit"}, ec);
    return 0;
  }
  return deliver(slice, ec);
}

void Parser::Impl::on_chunk_header(uint64_t size, std::string_view extensions, error_code& ec) {
  if (extensions.size() > kMaxChunkLine) return refuse({400, "chunk line over 4 KiB"}, ec);
  if (size == 0) {
    in_trailers_ = true;
    return;
  }
  if (limits_.max_body_bytes != 0 && size > limits_.max_body_bytes - body_bytes_) {
    return refuse({413, "body over the limit"}, ec);
  }
  chunk_remaining_ = size;
  chunk_crlf_pending_ = true;
}

size_t Parser::Impl::on_chunk_body(uint64_t remain, std::string_view slice, error_code& ec) {
  chunk_remaining_ = remain - slice.size();
  return deliver(slice, ec);
}

// Hands one slice to the caller: Beast stops right after it, so parse() returns kBody.
size_t Parser::Impl::deliver(std::string_view slice, error_code& ec) {
  if (slice.empty()) return 0;
  body_bytes_ += slice.size();
  slice_ = slice;
  paused_ = true;
  ec = bhttp::error::need_buffer;
  return slice.size();
}

ParseError Parser::Impl::from_beast(const error_code& ec) const {
  if (ec == bhttp::error::bad_content_length || ec == bhttp::error::multiple_content_length ||
      ec == bhttp::error::bad_transfer_encoding) {
    return builder_.explain(ec);
  }
  if (ec == bhttp::error::bad_version) return {400, "bad HTTP version"};
  if (ec == bhttp::error::bad_method) return {400, "bad method"};
  if (ec == bhttp::error::bad_target) return {400, "bad request target"};
  if (ec == bhttp::error::bad_field) return {400, "bad header field name"};
  if (ec == bhttp::error::bad_value) return {400, "bad header field value"};
  if (ec == bhttp::error::bad_line_ending) return {400, "bad line ending"};
  if (ec == bhttp::error::bad_chunk || ec == bhttp::error::bad_chunk_extension) {
    return {400, "bad chunk"};
  }
  if (ec == bhttp::error::bad_status || ec == bhttp::error::bad_reason) {
    return {400, "bad status line"};
  }
  if (ec == bhttp::error::header_limit) return {431, "head too large"};
  return {400, "malformed message"};
}

size_t Parser::Impl::put(std::string_view input, error_code& ec) {
  const boost::asio::const_buffer buffer(input.data(), input.size());
  return is_request_ ? request_->put(buffer, ec) : response_->put(buffer, ec);
}

void Parser::Impl::put_eof(error_code& ec) {
  if (is_request_) {
    request_->put_eof(ec);
  } else {
    response_->put_eof(ec);
  }
}

bool Parser::Impl::beast_done() const {
  return is_request_ ? request_->is_done() : response_->is_done();
}

// Keeps the first reason and stops Beast. Whatever a backend did wrong, the client gets a 502.
void Parser::Impl::refuse(ParseError error, error_code& ec) {
  if (error_.status == 0) error_ = error;
  if (!is_request_) error_.status = 502;
  ec = bhttp::error::bad_value;
}

ParseEvent Parser::Impl::fail(ParseError error) {
  error_code ignored;
  refuse(error, ignored);
  return ParseEvent::kError;
}

Parser::Parser(Kind kind, ParserLimits limits) : impl_(std::make_unique<Impl>(kind, limits)) {}
Parser::~Parser() = default;
void Parser::reset() { impl_->reset(); }
void Parser::set_limits(ParserLimits limits) { impl_->set_limits(limits); }
void Parser::expect_no_body(bool no_body) { impl_->expect_no_body(no_body); }
ParseEvent Parser::parse(std::string_view input, size_t& consumed) {
  return impl_->parse(input, consumed);
}
ParseEvent Parser::finish_on_close() { return impl_->finish_on_close(); }
const Head& Parser::head() const { return impl_->builder_.head(); }
std::string_view Parser::body() const { return impl_->slice_; }
const ParseError& Parser::error() const { return impl_->error_; }
bool Parser::head_done() const { return impl_->head_done_; }

const char* codec_library_version() { return "Boost " BOOST_LIB_VERSION; }

}  // namespace ringlb::http
