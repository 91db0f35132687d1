// The first stage of a connection on a listener with proxy_protocol = true: it reads the PROXY
// protocol header (proxy_header.hpp) and nothing else, then hands the socket on to the
// listener's L4 or HTTP session with the addresses the header carried. Because the header is
// consumed exactly (peeked, then read to its last byte), the next session meets the client's
// first byte as on any other listener: a TLS ClientHello, the HTTP/2 preface, a request.
//
// A connection from a source outside proxy_protocol_from, one whose first bytes are not a
// valid header, and one without a complete header within the listener's tls_handshake timeout
// (HAProxy's `timeout client-hs`, which covers the PROXY header too) is closed, counted in
// proxy_protocol_refused and logged (at most once a second per worker, so that a flood does not
// flood the log).
#pragma once

#include <array>
#include <memory>

#include "core/io/proxy_header.hpp"
#include "core/proxy/session.hpp"
#include "core/runtime/snapshot.hpp"
#include "health/stats.hpp"

namespace ringlb {

class ProxyHeaderSession final : public Session {
 public:
  // Takes ownership of `client_fd`.
  void start(WorkerContext& ctx, OpTag tag, int client_fd, std::shared_ptr<const Snapshot> snapshot,
             const Listener& listener);

  void on_completion(OpKind kind, const io_uring_cqe& cqe) override;
  void on_timer() override;  // the header timeout
  void retry_receive(OpKind /*kind*/) override {}
  void abort(const char* /*cause*/) override { cancel_all({client_fd_}); }
  // Nothing of the client's has been read: a stop closes it now. A reload lets the header
  // arrive; the worker drains the session it hands on to.
  bool drain(bool stopping) override;
  void release() override;

  // The connection to start as its listener's session, once the header was read whole.
  struct Handoff {
    int client_fd = -1;
    std::shared_ptr<const Snapshot> snapshot;  // the one `listener` belongs to
    const Listener* listener = nullptr;
    CarriedAddresses addresses;
  };
  // Finished with a complete header: moves the socket out (release() then does not close it).
  bool has_handoff() const { return header_read_ && client_fd_ >= 0; }
  Handoff take_handoff();

 private:
  void peek();
  // Reads `count` bytes already seen by the peek, so they leave the socket.
  bool consume(size_t count);
  void on_peeked(int result);
  void on_header(const proxy_protocol::Result& header);
  // A v2 header's bytes past its addresses (TLVs), read and dropped.
  void skip_rest();
  void on_skipped(int result);
  void finish();
  void refuse(health::ProxyRefusal why, const char* detail);
  bool trusted() const;

  int client_fd_ = -1;
  std::shared_ptr<const Snapshot> snapshot_;
  const Listener* listener_ = nullptr;
  // The client and the address it reached: the socket's peer until a header says otherwise.
  CarriedAddresses addresses_;
  bool header_read_ = false;
  size_t have_ = 0;          // bytes of the header read off the socket so far
  size_t left_to_skip_ = 0;  // header bytes still to read and drop once parsed
  // The peek lands here; small, as the slot of every session is as large as the largest kind.
  std::array<uint8_t, proxy_protocol::kMaxParsedBytes> header_{};
};

}  // namespace ringlb
