// The memory one in-progress HTTP request/response needs: both parsers, per-direction scratch
// and send vectors. Pooled per worker and lent to a session only while a request is under way,
// so an idle keep-alive connection holds none of it and steady state allocates nothing.
#pragma once

#include <linux/time_types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "balancers/balancer.hpp"
#include "core/http/http_parser.hpp"
#include "core/io/ring.hpp"
#include "core/io/timer_wheel.hpp"
#include "core/proxy/backend_attempt.hpp"
#include "health/backend_state.hpp"

namespace ringlb {

// Everything about the request under way that an idle keep-alive connection need not hold.
struct RequestState {
  using TimePoint = TimerWheel::Clock::time_point;
  const Pool* pool = nullptr;
  BackendAttempt attempt;       // the backend this request went to, or is being tried on
  uint32_t resends = 0;         // times the request was sent again on a new connection
  bool replayable = false;      // idempotent and without a body: may be sent again once sent
  bool backend_reused = false;  // the connection came from the pool
  bool request_done = false;
  bool response_bytes_received = false;  // this attempt's backend sent something
  bool interim_response = false;         // a 1xx head was relayed; the final response follows
  bool logged = false;
  bool response_started = false;  // bytes of the response reached the client
  bool response_done = false;
  bool backend_keep_alive = false;
  // Bytes past a spliced body's end were already waiting in the backend's socket: the backend
  // sent more than its response, as received bytes left over after a copied body show.
  bool backend_overran = false;
  http::Framing to_backend_framing = http::Framing::kNone;
  http::Framing to_client_framing = http::Framing::kNone;
  unsigned status = 0;
  const char* end_cause = "";
  uint64_t bytes_from_client = 0;
  uint64_t bytes_to_client = 0;
  uint64_t bytes_spliced = 0;  // of bytes_to_client: moved by splice (http_session_splice.cpp)
  char request_id[65] = {};    // the client's X-Request-Id (up to 64 bytes) or a generated one
  TimePoint request_started;
  TimePoint request_done_at;
  TimePoint connected_at;
  TimePoint response_head_at;
};

// Bytes received from one side that are not yet parsed. They live in the provided buffer the
// kernel filled, or, when a head or chunk line straddles two receives, in `stash`.
struct PendingInput {
  BufferLease buffer;   // held provided buffer, if any
  uint32_t offset = 0;  // unparsed bytes start here in the buffer...
  uint32_t length = 0;  // ...and end here
  std::string stash;    // used instead of the buffer while non-empty
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
  // Toward a TLS socket: the plan went into the channel whole; it counts as sent once the
  // channel has sent `tls_mark` ciphertext bytes. `plan_bytes` is its plaintext size.
  uint64_t tls_mark = 0;
  size_t plan_bytes = 0;

  // Bytes shorter than this are copied into scratch, not pointed to, so that a small message
  // (head and body) leaves as one piece: a plain send, which the kernel takes without the
  // msghdr and iovec import of a sendmsg. Larger bodies are never copied.
  static constexpr size_t kCopyBelow = 1024;

  bool empty() const { return plan.empty(); }
  void add_scratch(std::string_view bytes) {
    const size_t start = scratch.size();
    scratch.append(bytes);
    add_scratch_from(start);
  }
  // Call after appending to scratch directly: the newly appended bytes join the plan, as part
  // of the last piece when that piece ends where they start.
  void add_scratch_from(size_t offset) {
    if (scratch.size() <= offset) return;
    if (!plan.empty() && plan.back().data == nullptr &&
        plan.back().scratch_offset + plan.back().size == offset) {
      plan.back().size += scratch.size() - offset;
      return;
    }
    plan.push_back({nullptr, offset, scratch.size() - offset});
  }
  // Only while nothing is being sent: the copy may move scratch.
  void add_bytes(std::string_view bytes) {
    if (bytes.empty()) return;
    if (bytes.size() < kCopyBelow) return add_scratch(bytes);
    plan.push_back({bytes.data(), 0, bytes.size()});
  }
  // The plan as iovecs, from its first piece: scratch no longer grows once a send is built.
  void lay_out_pieces() {
    pieces.clear();
    for (const Piece& piece : plan) {
      const char* data = piece.data ? piece.data : scratch.data() + piece.scratch_offset;
      pieces.push_back({const_cast<char*>(data), piece.size});
    }
    piece_offset = 0;
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
  std::string request_head;             // the serialized request head, kept to start a new attempt
  std::string route_path;               // the normalized path routes compare, when it differs
  RequestState state;
};

class HttpExchangeFreeList {
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
    exchange->request_head.clear();
    exchange->state = RequestState();
    // A session can end with `sending` still set and nothing in flight (an h2 stream reset while
    // its response waited for room in the codec): kept, it would make the next session to get
    // this exchange wait for a send that never completes, and never answer its client.
    for (PendingOutput& output : exchange->output) {
      output.clear();
      output.sending = false;
    }
    if (free_.size() < kMaxFree) free_.push_back(std::move(exchange));
  }

 private:
  static constexpr size_t kMaxFree = 1024;
  std::vector<std::unique_ptr<HttpExchange>> free_;
};

}  // namespace ringlb
