// A client's attempts on the backends of one pool, shared by the tcp and the http session: the
// pick of a backend not yet tried, where and how long to connect, and the passive health
// signals (on_start/on_end, connect failures) reported to the backend's state. What to do after
// a failure is the session's to decide (for HTTP, retry_policy.hpp); how an attempt is made and
// reported is here, once. A plain value: it allocates nothing and lives in the session.
#pragma once

#include <linux/time_types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "balancers/balancer.hpp"
#include "config/config.hpp"
#include "core/proxy/retry_policy.hpp"
#include "core/runtime/snapshot.hpp"
#include "health/backend_state.hpp"

namespace ringlb {

class BackendAttempt {
 public:
  // Picks a backend of `pool` that was not tried yet and starts an attempt on it. False when
  // none is eligible, or kMaxBackendsTried were tried already.
  bool pick(const Pool& pool, uint32_t worker, std::optional<uint64_t> key_hash);
  // Starts another attempt on the same backend: a new connection to it.
  void restart();
  // Reports how the attempt ended to the backend's state, once per attempt; no-op after that.
  void finish(health::Outcome how);
  void finish() { finish(outcome); }
  // The attempt's connect failed (`result` < 0, -ECANCELED when its timeout fired): logs it and
  // counts it. Returns kConnectTimeout or kConnectFailed.
  AttemptFailure connect_failed(uint32_t worker, int result) const;

  // Whether a failed connect may be tried again on another backend.
  bool may_try_another() const { return tried_count_ < kMaxBackendsTried; }
  uint32_t backends_tried() const { return tried_count_; }
  bool has_backend() const { return backend_ != balancers::kNoBackend; }
  uint32_t backend() const { return backend_; }
  health::BackendState& state() const { return *shared_state(); }
  // For what outlives the attempt: an idle connection kept for the backend.
  const std::shared_ptr<health::BackendState>& shared_state() const {
    return pool_->balancer->backends()[backend_].state;
  }
  const SocketAddress& address() const { return pool_->addresses[backend_]; }
  config::Duration connect_timeout() const { return pool_->config->timeouts.connect; }
  // Where the connect's linked timeout is kept: it must live until both complete.
  __kernel_timespec& timeout_storage() { return timeout_storage_; }

  // Reported by finish() when the session ends during the attempt; kSuccess at every start.
  health::Outcome outcome = health::Outcome::kSuccess;

 private:
  void start(uint32_t backend);

  const Pool* pool_ = nullptr;
  uint32_t backend_ = balancers::kNoBackend;  // index in the pool, or none yet
  std::array<uint32_t, kMaxBackendsTried> tried_{};
  uint32_t tried_count_ = 0;
  bool started_ = false;  // on_start() reported, on_end() not yet
  __kernel_timespec timeout_storage_{};
};

}  // namespace ringlb
