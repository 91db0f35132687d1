// The memory one in-progress HTTP request/response needs: both parsers, per-direction scratch
// and send vectors. Pooled per worker and lent to a session only while a request is under way,
// so an idle keep-alive connection holds none of it and steady state allocates nothing.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "core/http_parser.hpp"

namespace ringlb {

// Bytes received from one side that are not yet parsed. They live in the provided buffer the
// kernel filled, or, when a head or chunk line straddles two receives, in `stash`.
struct PendingInput {
  int32_t buffer_id = -1;  // held provided buffer, or -1
  uint32_t offset = 0;     // unparsed bytes start here in the buffer...
  uint32_t length = 0;     // ...and end here
  std::string stash;       // used instead of the buffer while non-empty
  size_t stash_offset = 0;
};

// What is being sent to one side: a plan of pieces, each either a range of `scratch` (heads,
// chunk lines) or bytes of the input being forwarded. Turned into iovecs at send time, since
// scratch may grow while the plan is built. Everything stays valid until the send completes.
struct PendingOutput {
  struct Piece {
    const char* data;  // nullptr: the range [scratch_offset, +size) of scratch
    size_t scratch_offset;
    size_t size;
  };
  std::string scratch;
  std::vector<Piece> plan;
  std::vector<iovec> pieces;
  size_t piece_offset = 0;  // first iovec not completely sent
  msghdr message{};
  bool sending = false;

  bool empty() const { return plan.empty(); }
  void add_scratch(std::string_view bytes) {
    plan.push_back({nullptr, scratch.size(), bytes.size()});
    scratch.append(bytes);
  }
  // Call after appending to scratch directly: makes the newly appended bytes one piece.
  void add_scratch_from(size_t offset) {
    if (scratch.size() > offset) plan.push_back({nullptr, offset, scratch.size() - offset});
  }
  void add_bytes(std::string_view bytes) {
    if (!bytes.empty()) plan.push_back({bytes.data(), 0, bytes.size()});
  }
  void clear() {
    scratch.clear();
    plan.clear();
    pieces.clear();
    piece_offset = 0;
  }
};

struct HttpExchange {
  HttpExchange()
      : request(http::Parser::Kind::kRequest, {}), response(http::Parser::Kind::kResponse, {}) {}
  http::Parser request;
  http::Parser response;
  std::array<PendingInput, 2> input;    // indexed by Side
  std::array<PendingOutput, 2> output;  // indexed by Side
  std::string retry_head;  // the serialized request head, kept to resend after a stale reuse
};

class HttpExchangePool {
 public:
  std::unique_ptr<HttpExchange> acquire() {
    if (free_.empty()) return std::make_unique<HttpExchange>();
    std::unique_ptr<HttpExchange> exchange = std::move(free_.back());
    free_.pop_back();
    return exchange;
  }
  void release(std::unique_ptr<HttpExchange> exchange) {
    exchange->request.reset();
    exchange->response.reset();
    exchange->retry_head.clear();
    if (free_.size() < kMaxFree) free_.push_back(std::move(exchange));
  }

 private:
  static constexpr size_t kMaxFree = 1024;
  std::vector<std::unique_ptr<HttpExchange>> free_;
};

}  // namespace ringlb
