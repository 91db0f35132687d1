// One hashed timer wheel per worker for header, idle and response deadlines (docs/architecture.md):
// O(1) schedule and cancel, no timeout operation per connection. Single thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "core/io/slot_table.hpp"

namespace ringlb {

class TimerWheel;

// A place in one of the wheel's circular lists; the wheel's slot heads are bare links.
struct TimerLink {
  TimerLink* prev = nullptr;
  TimerLink* next = nullptr;
  bool linked() const { return next != nullptr; }
};

// Embedded in whatever owns the deadline. It cannot be copied or moved, and its destructor
// cancels it, so the wheel never holds a node whose owner is gone: a linked node always points
// into live memory. The owner is named by slot and generation (slot_table.hpp), not by a
// pointer, so the code that fires it finds the owner through its SlotTable, and checks it.
class TimerNode : public TimerLink {
 public:
  TimerNode() = default;
  ~TimerNode();
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;

  SlotHandle owner;  // what the timer belongs to, for the expiry callback

 private:
  friend class TimerWheel;
  uint64_t deadline_tick_ = 0;
  TimerWheel* wheel_ = nullptr;  // the wheel it was last scheduled on
};

class TimerWheel {
 public:
  using Clock = std::chrono::steady_clock;

  TimerWheel(std::chrono::milliseconds tick, uint32_t slots, Clock::time_point start);
  // Unlinks what is still scheduled, so a node that outlives the wheel does not reach into it.
  ~TimerWheel();
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
    TimerLink expired;
    expired.prev = expired.next = &expired;
    collect_expired(now, expired);
    while (expired.next != &expired) {
      auto* node = static_cast<TimerNode*>(expired.next);
      unlink(*node);
      --size_;
      fn(*node);
    }
  }

 private:
  uint64_t tick_of(Clock::time_point time) const;
  void collect_expired(Clock::time_point now, TimerLink& expired);
  static void link_after(TimerLink& head, TimerLink& node);
  static void unlink(TimerLink& node);

  std::chrono::milliseconds tick_;
  Clock::time_point start_;
  std::vector<TimerLink> slots_;  // circular lists with sentinel heads; never resized
  uint64_t current_tick_ = 0;
  size_t size_ = 0;
};

inline TimerNode::~TimerNode() {
  if (linked()) wheel_->cancel(*this);
}

}  // namespace ringlb
