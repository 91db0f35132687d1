// The Beast adapter: drives Boost.Beast's basic_parser over caller-owned bytes and hands what it
// reads to ringlb's policy (http_head_builder, http_hardening; docs/http-hardening.md), so a
// message gets exactly one meaning or an error status. The only file that includes Beast: it is
// slow to compile.
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
#include <string_view>

#include "core/http/http_hardening.hpp"
#include "core/http/http_head_builder.hpp"
#include "core/http/http_trailers.hpp"

namespace ringlb::http {
namespace {

namespace bhttp = boost::beast::http;
using boost::beast::error_code;

std::string_view to_std(boost::beast::string_view s) { return {s.data(), s.size()}; }

// The policy's view of a field name Beast knows.
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
  void on_trailer(bhttp::field known, std::string_view name, std::string_view value,
                  error_code& ec);
  void on_finish();
  void on_header(const FramingFacts& facts, error_code& ec);
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
      FramingFacts facts;
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
    void on_finish_impl(error_code&) override { impl_.on_finish(); }

    Impl& impl_;
  };

  const bool is_request_;
  ParserLimits limits_;
  HeadBuilder builder_;
  BlockScanner head_scan_;
  BlockScanner trailer_scan_;
  TrailerFields trailers_;  // responses only; empty until the message is done
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
  trailers_.clear();
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

// Trailers must fit in max_header_bytes like a head (else 400); a request's are then dropped, a
// response's kept (on_trailer).
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
  if (in_trailers_) return on_trailer(known, name, value, ec);
  if (ParseError e = builder_.add_field(classify(known), name, value); e.status != 0) {
    refuse(e, ec);
  }
}

// Never merged into the head. A request's are dropped (row 17). A response's are kept for an
// HTTP/2 client, without the hop-by-hop and framing fields: those are about this HTTP/1.1
// connection and RFC 9113 §8.2.2 forbids them in HTTP/2. Beast has checked name and value.
void Parser::Impl::on_trailer(bhttp::field known, std::string_view name, std::string_view value,
                              error_code& ec) {
  if (is_request_) return;
  if (name.size() + value.size() > kMaxFieldBytes) return refuse({431, "trailer over 64 KiB"}, ec);
  if (classify(known) != FieldKind::kEndToEnd || builder_.named_in_connection(name)) return;
  trailers_.add(name, value);
}

void Parser::Impl::on_finish() {
  if (in_trailers_ && !is_request_) trailers_.seal();
}

void Parser::Impl::on_header(const FramingFacts& facts, error_code& ec) {
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
  if (ec == bhttp::error::bad_content_length) {
    return builder_.explain(LengthError::kBadContentLength);
  }
  if (ec == bhttp::error::multiple_content_length) {
    return builder_.explain(LengthError::kMultipleContentLength);
  }
  if (ec == bhttp::error::bad_transfer_encoding) {
    return builder_.explain(LengthError::kBadTransferEncoding);
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
std::span<const Field> Parser::trailers() const { return impl_->trailers_.fields(); }
std::string_view Parser::body() const { return impl_->slice_; }
const ParseError& Parser::error() const { return impl_->error_; }
bool Parser::head_done() const { return impl_->head_done_; }

uint64_t Parser::body_remaining() const {
  const Head& head = impl_->builder_.head();
  if (!impl_->head_done_ || impl_->done_ || head.framing != Framing::kContentLength) return 0;
  return head.content_length - impl_->body_bytes_;
}

void Parser::skip_rest_of_body() {
  impl_->body_bytes_ += body_remaining();
  impl_->done_ = true;  // Beast is rebuilt by reset() before the next message
}

const char* codec_library_version() { return "Boost " BOOST_LIB_VERSION; }

}  // namespace ringlb::http
