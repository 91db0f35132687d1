// What a worker lends its sessions: the ring, the buffers, the timers, the clock of this loop
// turn. Lives as long as the worker; used only on the worker's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/io/op_tag.hpp"
#include "core/io/pipe_pool.hpp"
#include "core/io/ring.hpp"
#include "core/io/slot_table.hpp"
#include "core/io/spill_chunks.hpp"
#include "core/io/timer_wheel.hpp"
#include "core/io/tls_handshake_rate.hpp"
#include "core/proxy/access_log.hpp"
#include "core/proxy/http_exchange.hpp"
#include "core/proxy/idle_upstreams.hpp"
#include "core/runtime/snapshot.hpp"
#include "health/stats.hpp"

namespace ringlb {

// What happened to TLS handshakes with clients on this worker; logged when the worker stops.
// A TLS listener's sessions, tcp and http alike, count through these calls.
struct TlsCounters {
  uint64_t handshakes = 0;
  uint64_t resumed = 0;  // of the handshakes: resumed with a session ticket
  uint64_t failed_handshakes = 0;
  uint64_t plain_http = 0;  // of the failed: a plain HTTP request on a TLS port
  TlsHandshakeRate rate;    // refusals count as failed handshakes
  void count_handshake(bool was_resumed) {
    ++handshakes;
    if (was_resumed) ++resumed;
  }
  // A client's handshake failed, was refused or timed out; its listener counts it too.
  void count_failure(bool was_plain_http, health::ListenerWorkerStats& listener) {
    ++failed_handshakes;
    if (was_plain_http) ++plain_http;
    listener.tls_handshake_failures.add();
  }
  // runtime.max_tls_handshakes_per_second, checked at a client's first byte, before OpenSSL
  // sees the ClientHello and signs (tls_handshake_rate.hpp).
  bool allow_handshake(TimerWheel::Clock::time_point now, uint64_t per_second_total,
                       uint32_t workers, health::ListenerWorkerStats& listener) {
    if (rate.try_start(now, per_second_total, workers)) return true;
    count_failure(false, listener);
    return false;
  }
};

class HttpSession;

// The worker's session slots, as an HTTP/2 connection sees them: it starts each stream as an
// HttpSession in a slot of its own and finds it again by handle (core/proxy/h2_state.hpp).
class SessionSlots {
 public:
  // A new HttpSession in a free slot; `handle` names it. Not a client connection: it does not
  // count toward runtime.max_connections.
  virtual HttpSession& emplace_stream(SlotHandle& handle) = 0;
  // The HttpSession a handle names, or null once its slot was freed.
  virtual HttpSession* find_http(SlotHandle handle) = 0;

 protected:
  ~SessionSlots() = default;
};

struct WorkerContext {
  Ring& ring;
  BufferRing& buffers;
  TimerWheel& timers;
  AccessLog& access_log;
  IdleUpstreams& upstreams;
  HttpExchangeFreeList& exchanges;
  const Tuning& tuning;  // the server's, for the whole run (core/io/tuning.hpp)
  uint32_t worker_id = 0;
  TimerWheel::Clock::time_point now;  // read once per loop turn
  // The worker's newest snapshot. An HTTP session adopts it at its next request when it was
  // built from the same loaded configuration (a health, weight or membership rebuild), so a
  // keep-alive connection balances over the pool's current backends (HttpSession::
  // adopt_current_snapshot). Null until the worker has one.
  const std::shared_ptr<const Snapshot>* current_snapshot = nullptr;
  // Multishot completions queued for a session that now waits: handed over next turn (the
  // worker calls retry_receive).
  std::vector<OpTag> handovers{};
  // Receives that found the buffer ring empty (-ENOBUFS), oldest first. The worker resumes as
  // many as buffers have come back, so a parked receive costs nothing while the ring is empty.
  std::vector<OpTag> starved{};
  uint64_t random_state = 0x9E3779B97F4A7C15ull;  // seeded per worker; request ids only
  TlsCounters tls{};
  std::string tls_plaintext{};  // where a send plan is gathered before it is encrypted, reused
  std::string spill{};          // where a stalled send's rest is gathered (HttpSession), reused
  SpillChunks spill_chunks{};   // where a stalled send's rest waits (TcpSession)
  // RINGLB_LEVER_BIG_RECV: larger buffers for an L4 socket that keeps filling its buffer; null
  // when off. Their leases come from `buffers.take()` like the others.
  BufferRing* large_buffers = nullptr;
  PipePool pipes{};  // lent to whatever splices (core/proxy/splice_pump.hpp)
  SessionSlots* slots = nullptr;
  // Sessions another session closed (an h2 connection and its streams close each other): the
  // worker frees those that have finished after the completion or timer it is handling, never
  // under a caller.
  std::vector<SlotHandle> closed_by_another{};
};

// 32 lowercase hex digits from the worker's generator (splitmix64): unique enough to correlate
// logs, not a secret.
template <size_t N>
inline void next_request_id(WorkerContext& ctx, char (&out)[N]) {
  static_assert(N > 32);
  static constexpr char kHex[] = "0123456789abcdef";
  for (int half = 0; half < 2; ++half) {
    uint64_t z = (ctx.random_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (int i = 0; i < 16; ++i) out[half * 16 + i] = kHex[(z >> (60 - 4 * i)) & 0xF];
  }
  out[32] = '\0';
}

}  // namespace ringlb
