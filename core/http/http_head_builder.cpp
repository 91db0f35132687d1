// The head policy: what a request or response head means once its fields are read together,
// or why it is refused (http-hardening.md). Beast-free; the parser feeds it.
#include "core/http/http_head_builder.hpp"

#include <algorithm>

#include "core/base/log.hpp"
#include "core/http/http_hardening.hpp"

namespace ringlb::http {
namespace {

// Each Connection option is compared with every field; the cap keeps that product small.
constexpr size_t kMaxConnectionOptions = 64;

bool is_ows(char c) { return c == ' ' || c == '\t'; }

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

}  // namespace

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

void HeadBuilder::drop_underscore_field(std::string_view name) {
  LOG_DEBUG("dropped request field '%.*s': '_' in its name (underscores_in_headers = false)",
            static_cast<int>(std::min<size_t>(name.size(), 128)), name.data());
}

bool HeadBuilder::seen(FieldKind kind) const {
  return std::any_of(raw_fields_.begin(), raw_fields_.end(),
                     [kind](const RawField& raw) { return raw.kind == kind; });
}

ParseError HeadBuilder::explain(LengthError error) const {
  const ParseError both{400, "Content-Length with Transfer-Encoding"};
  if (error == LengthError::kBadTransferEncoding) {
    return seen(FieldKind::kContentLength) ? both
                                           : ParseError{400, "Transfer-Encoding after chunked"};
  }
  if (error == LengthError::kMultipleContentLength) return {400, "Content-Length values differ"};
  return seen(FieldKind::kTransferEncoding) ? both : ParseError{400, "bad Content-Length"};
}

ParseError HeadBuilder::finish(const FramingFacts& facts) {
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

HeadBuilder::Coding HeadBuilder::transfer_coding() const {
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

ParseError HeadBuilder::check_request(const FramingFacts& facts) {
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

ParseError HeadBuilder::check_request_framing(const FramingFacts& facts) {
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

ParseError HeadBuilder::check_response(const FramingFacts& facts) {
  if (head_.status < 100 || head_.status > 599) return {502, "bad status code"};
  if (summary_.transfer_encoding_lines > 0) {
    if (summary_.content_length) return {502, "Content-Length with Transfer-Encoding"};
    if (head_.version < 11) return {502, "Transfer-Encoding in an HTTP/1.0 response"};
    // Anything but plain chunked would have to be passed on coded, with a framing we dropped.
    if (transfer_coding() != Coding::kChunked) return {502, "unsupported transfer coding"};
  }
  return check_response_framing(facts);
}

ParseError HeadBuilder::check_response_framing(const FramingFacts& facts) {
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
}  // namespace ringlb::http
