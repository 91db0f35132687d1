// Idle keep-alive connections to backends, per worker (not a pool: in ringlb a pool is only a
// [pools.NAME] group of backends). A connection is put back only after a
// response was read completely and both sides agreed to keep it; one past its pool's idle
// timeout is closed instead of reused. Whether the backend wrote on or closed a connection while
// it sat here is checked by the session that takes it (HttpSession::check_pooled_connection),
// through the ring. Worker thread only; no operation is in flight on an idle connection, so
// closing one is always safe.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "core/io/timer_wheel.hpp"
#include "core/io/tls_stream.hpp"
#include "health/backend_state.hpp"

namespace ringlb {

class IdleUpstreams {
 public:
  using Clock = TimerWheel::Clock;
  IdleUpstreams() = default;
  ~IdleUpstreams();
  IdleUpstreams(const IdleUpstreams&) = delete;
  IdleUpstreams& operator=(const IdleUpstreams&) = delete;

  // Per backend and worker; put() closes the oldest beyond it. Below the concurrency a worker
  // sees, every response past the cap closes its connection and a later request opens one:
  // 2,000 clients on 2 backends with 256 churned connections and overflowed the backends'
  // accept queues (1 s SYN retries in the p99). An idle TLS connection keeps its OpenSSL state
  // (an idle TLS client connection costs ~16 KB; upstream ones were not measured apart), so this
  // stays near what busy setups need.
  static constexpr size_t kMaxIdlePerBackend = 1024;

  // The newest idle connection to `backend` that has not expired, or -1. A TLS connection comes
  // with its channel in `tls` (the session resumes the same TLS connection), else null.
  int take(const health::BackendState& backend, Clock::time_point now, TlsStream* tls = nullptr);
  // Keeps `fd` (and its TLS channel, which must have nothing left to send) until `expires`.
  // Holding the BackendState keeps its address from being reused by another backend while
  // connections to this one sit here.
  void put(std::shared_ptr<health::BackendState> backend, int fd, Clock::time_point expires,
           TlsStream tls = {});
  // Closes expired connections and forgets backends with none left. Call about once a second.
  void close_expired(Clock::time_point now);
  size_t idle_count() const;
  // Closes every idle connection to `backend`: it wrote on one unasked, so any of them may be
  // a response behind (docs/choices.md, "Idle upstream connections are checked when taken").
  // `first` says whether this worker never did so for this backend before (the caller warns once).
  struct Purge {
    size_t closed;
    bool first;
  };
  Purge close_idle(const health::BackendState& backend);

 private:
  struct Idle {
    int fd;
    Clock::time_point expires;
    TlsStream tls;
  };
  struct Backend {
    std::shared_ptr<health::BackendState> state;
    std::vector<Idle> idle;  // oldest first
  };
  // Backends whose idle connections were purged (compared, never dereferenced).
  std::vector<const health::BackendState*> purged_;
  std::unordered_map<const health::BackendState*, Backend> backends_;
};

}  // namespace ringlb
