// The live state of one backend, shared by every snapshot that names it (design.md §2): health,
// drain flag and the active count. Workers read it on every pick; writers are the control thread
// (health, admin) and the `on_start`/`on_end` pair around each attempt.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace ringlb::health {

// How one attempt on a backend ended. The single place where passive signals enter.
enum class Outcome { kSuccess, kConnectFailed, kConnectTimeout, kReset };

class BackendState {
 public:
  BackendState(std::string pool, std::string address)
      : pool_(std::move(pool)), address_(std::move(address)) {}
  BackendState(const BackendState&) = delete;
  BackendState& operator=(const BackendState&) = delete;

  const std::string& pool() const { return pool_; }
  const std::string& address() const { return address_; }

  // Whether balancers may send new work here. Lock-free; any thread.
  bool eligible() const {
    return up_.load(std::memory_order_relaxed) && !draining_.load(std::memory_order_relaxed);
  }
  bool up() const { return up_.load(std::memory_order_relaxed); }
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  void set_up(bool up) { up_.store(up, std::memory_order_relaxed); }
  void set_draining(bool draining) { draining_.store(draining, std::memory_order_relaxed); }

  // Open connections (L4) or in-flight requests (L7): least-connections reads this.
  uint32_t active() const { return active_.load(std::memory_order_relaxed); }

  // Around every attempt: on_start when a connection to this backend is begun, on_end with how
  // it went, exactly once per on_start.
  void on_start() { active_.fetch_add(1, std::memory_order_relaxed); }
  void on_end(Outcome outcome);

  uint64_t failed_attempts() const { return failed_attempts_.load(std::memory_order_relaxed); }

 private:
  const std::string pool_;
  const std::string address_;
  std::atomic<bool> up_{true};
  std::atomic<bool> draining_{false};
  std::atomic<uint32_t> active_{0};
  std::atomic<uint64_t> failed_attempts_{0};
};

}  // namespace ringlb::health
