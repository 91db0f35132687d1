// One hashed timer wheel per worker for header, idle and response deadlines (docs/architecture.md):
// O(1) schedule and cancel, no timeout operation per connection. Single thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace ringlb {

// Embedded in whatever owns the deadline. Must be cancelled (or expired) before it is destroyed.
struct TimerNode {
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  uint64_t deadline_tick = 0;
  void* owner = nullptr;  // what the timer belongs to, for the expiry callback
  bool linked() const { return next != nullptr; }
};

class TimerWheel {
 public:
  using Clock = std::chrono::steady_clock;

  TimerWheel(std::chrono::milliseconds tick, uint32_t slots, Clock::time_point start);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Fires no earlier than `deadline` and at most one tick after it. Re-scheduling moves the node.
  void schedule(TimerNode& node, Clock::time_point deadline);
  void cancel(TimerNode& node);
  size_t size() const { return size_; }

  // Unlinks every node whose deadline has passed, then calls fn(TimerNode&) for each. fn may
  // re-schedule the node it is given, and schedule or cancel nodes that have not expired.
  template <typename Fn>
  void advance(Clock::time_point now, Fn&& fn) {
    TimerNode expired;
    expired.prev = expired.next = &expired;
    collect_expired(now, expired);
    while (expired.next != &expired) {
      TimerNode* node = expired.next;
      unlink(*node);
      fn(*node);
    }
  }

 private:
  uint64_t tick_of(Clock::time_point time) const;
  void collect_expired(Clock::time_point now, TimerNode& expired);
  static void link_after(TimerNode& head, TimerNode& node);
  static void unlink(TimerNode& node);

  std::chrono::milliseconds tick_;
  Clock::time_point start_;
  std::vector<TimerNode> slots_;  // circular lists with sentinel heads; never resized
  uint64_t current_tick_ = 0;
  size_t size_ = 0;
};

}  // namespace ringlb
