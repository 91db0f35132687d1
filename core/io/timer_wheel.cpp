// The hashed wheel: a node sits in slot (deadline tick mod slots); deadlines further out than
// one turn simply stay until their turn comes round again.
#include "core/io/timer_wheel.hpp"

#include <algorithm>

namespace ringlb {

TimerWheel::TimerWheel(std::chrono::milliseconds tick, uint32_t slots, Clock::time_point start)
    : tick_(tick), start_(start), slots_(slots) {
  for (TimerLink& head : slots_) head.prev = head.next = &head;
}

TimerWheel::~TimerWheel() {
  for (TimerLink& head : slots_) {
    while (head.next != &head) unlink(*head.next);
  }
}

uint64_t TimerWheel::tick_of(Clock::time_point time) const {
  if (time <= start_) return 0;
  return static_cast<uint64_t>((time - start_) / tick_);
}

void TimerWheel::schedule(TimerNode& node, Clock::time_point deadline) {
  if (node.linked()) cancel(node);
  // Round up so a timer never fires before its deadline, and never into a slot already passed.
  node.deadline_tick_ = std::max(tick_of(deadline) + 1, current_tick_ + 1);
  node.wheel_ = this;
  link_after(slots_[node.deadline_tick_ % slots_.size()], node);
  ++size_;
}

void TimerWheel::cancel(TimerNode& node) {
  if (!node.linked()) return;
  unlink(node);
  --size_;
}

void TimerWheel::collect_expired(Clock::time_point now, TimerLink& expired) {
  const uint64_t now_tick = tick_of(now);
  if (now_tick <= current_tick_) return;
  // After a long pause every slot is visited once, not once per missed tick.
  const uint64_t first = std::max(
      current_tick_ + 1, now_tick >= slots_.size() ? now_tick - slots_.size() + 1 : uint64_t{0});
  for (uint64_t tick = first; tick <= now_tick; ++tick) {
    TimerLink& head = slots_[tick % slots_.size()];
    for (TimerLink* link = head.next; link != &head;) {
      TimerLink* next = link->next;
      auto* node = static_cast<TimerNode*>(link);  // every link but the head is a node
      if (node->deadline_tick_ <= now_tick) {
        unlink(*node);
        link_after(expired, *node);  // still counted: a cancel there unlinks and uncounts it
      }
      link = next;
    }
  }
  current_tick_ = now_tick;
}

void TimerWheel::link_after(TimerLink& head, TimerLink& node) {
  node.prev = &head;
  node.next = head.next;
  head.next->prev = &node;
  head.next = &node;
}

void TimerWheel::unlink(TimerLink& node) {
  node.prev->next = node.next;
  node.next->prev = node.prev;
  node.prev = node.next = nullptr;
}

}  // namespace ringlb
