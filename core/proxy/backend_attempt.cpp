// BackendAttempt: the pick that skips the backends already tried, and the passive health
// signals of each attempt (backend_attempt.hpp).
#include "core/proxy/backend_attempt.hpp"

#include <cerrno>
#include <span>

#include "core/proxy/session.hpp"

namespace ringlb {

bool BackendAttempt::pick(const Pool& pool, uint32_t worker, std::optional<uint64_t> key_hash) {
  if (tried_count_ == tried_.size()) return false;  // the sessions never ask a third time
  const uint32_t index = pool.balancer->pick(
      {.worker = worker, .excluded = std::span(tried_.data(), tried_count_), .key_hash = key_hash});
  if (index == balancers::kNoBackend) return false;
  pool_ = &pool;
  tried_[tried_count_++] = index;
  start(index);
  return true;
}

void BackendAttempt::restart() { start(backend_); }

void BackendAttempt::start(uint32_t backend) {
  backend_ = backend;
  state().on_start();
  started_ = true;
  outcome = health::Outcome::kSuccess;
}

void BackendAttempt::finish(health::Outcome how) {
  if (!started_) return;
  state().on_end(how);
  started_ = false;
}

AttemptFailure BackendAttempt::connect_failed(uint32_t worker, int result) const {
  log_connect_failure(*pool_->config, state().address(), result);
  state().stats(worker).connect_failures.add();
  return result == -ECANCELED ? AttemptFailure::kConnectTimeout : AttemptFailure::kConnectFailed;
}

}  // namespace ringlb
