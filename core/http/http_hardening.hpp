// Request checks that keep a client from making the proxy and a backend read one message two
// ways: target characters that backends interpret, Content-Length beyond a signed 64-bit offset,
// field names with '_' that CGI maps onto '-' names, a Host spelled with a trailing dot, and the
// head and trailer lines Beast would accept or wait on (bare LF, obs-fold, no end in sight).
// Plain functions on bytes (no Beast), called by the parser and tested directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringlb::http {

// nginx's limit (an off_t): larger lengths are refused with 400, as no backend that stores a
// length in a signed 64-bit integer could read them the way the proxy does.
inline constexpr uint64_t kMaxContentLength = std::numeric_limits<int64_t>::max();

// A byte allowed in a request target: visible ASCII without the characters RFC 3986 has no
// place for and that backends disagree on (`#<>"{}|`, and `\` `^` `` ` ``: some map `\` to `/`,
// which would get around a path_prefix route).
bool is_target_char(char c);

// uri-host [ ":" port ] (RFC 9110 §7.2). Empty is valid: RFC 9112 §3.2 allows an empty Host.
bool valid_host(std::string_view host);

// A field name with '_': CGI-style backends turn both X_Forwarded_For and X-Forwarded-For into
// HTTP_X_FORWARDED_FOR, so the client's copy could pass for the proxy's. nginx drops these
// unless `underscores_in_headers on`.
inline bool has_underscore(std::string_view name) {
  return name.find('_') != std::string_view::npos;
}

// The Host a route compares and a backend receives: one trailing dot of the name is removed in
// place ("api.example.com.:8080" -> "api.example.com:8080"), since a fully qualified name is the
// same host, and a route or a backend's virtual host would miss it. Case is kept: routes compare
// without case, and backends get the client's spelling. Returns the view of `host` to use from
// now on. IP literals and a lone "." are kept as they are.
std::string_view normalize_host(std::span<char> host);

// The path a route's path_prefix is compared with, as nginx matches locations: the target without
// its query, percent-decoded (%2F included), with ";params" cut from each segment (as servlet
// containers do before they map a path), duplicate slashes merged and "." / ".." segments
// removed (RFC 3986 §5.2.4; ".." never climbs above "/"). So "/x/../v1/s", "//v1/s",
// "/%2e/v1/s", "/v1%2Fs" and "/v1;x/s" all route as "/v1/...", the path a normalizing backend
// serves. A target with no '%', ';', "/." or "//" before its query is returned as it is (a view
// of `target`, no copy); any other is written into `scratch` (reused: no allocation once it has
// grown) and the view is of `scratch`. nullopt for a bad %XX or a %00 (answer 400). A target that
// does not start with '/' ("*") is returned as it is.
std::optional<std::string_view> routing_path(std::string_view target, std::string& scratch);

// RFC 9112 §7.1.1 sets no bound on a chunk line; HAProxy and nginx cap it about here.
inline constexpr size_t kMaxChunkLine = 4096;  // chunk-size plus extensions, without the CRLF

// A well-formed "HTTP/x.y" other than 1.0 and 1.1 is 505 (RFC 9110 §15.6.6); Beast calls any
// version error bad_version, which is a 400. This includes the HTTP/2 preface "PRI * HTTP/2.0".
bool is_unsupported_version(std::string_view request_line);

// The chunk-size of a line is zero: the last chunk, followed by the trailers.
bool is_last_chunk(std::string_view line);

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

}  // namespace ringlb::http
