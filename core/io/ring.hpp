// A thin owner of one io_uring and its provided-buffer ring. One per worker thread; every method
// must be called from the thread that created it (the ring is SINGLE_ISSUER).
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <utility>

#include "core/io/tuning.hpp"

namespace ringlb {

class Ring {
 public:
  Ring() = default;
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // 0 or -errno. `entries` submission slots; the completion queue is 4x larger.
  // `tuning` chooses the set-up flags and when to submit; its defaults are production's.
  int init(uint32_t entries, const Tuning& tuning = {});

  // A free submission slot. Never null: when the queue is full it submits first to make room.
  io_uring_sqe* sqe();
  // Makes sure the next `count` sqe() calls come from one batch (linked operations must).
  void reserve(unsigned count);

  // Submits everything queued (one syscall per loop turn) and waits up to `timeout` for at least
  // one completion. Returns the number submitted or -errno (-ETIME/-EINTR are normal).
  int submit_and_wait(std::chrono::nanoseconds timeout);

  // Calls fn(const io_uring_cqe&) for each completion ready now, then marks them seen.
  template <typename Fn>
  unsigned for_each_completion(Fn&& fn) {
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      fn(*cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    return seen;
  }

  io_uring* raw() { return &ring_; }
  // Bench-only (RINGLB_LEVER_BUSY_POLL_US): poll this long before sleeping in submit_and_wait.
  void set_busy_poll(std::chrono::microseconds limit) { busy_poll_ = limit; }

 private:
  void submit_previous();
  void mark_receives_poll_first();

  io_uring ring_{};
  bool initialized_ = false;
  bool submit_each_operation_ = false;  // Tuning (core/io/tuning.hpp)
  bool receive_poll_first_ = false;
  std::chrono::microseconds busy_poll_{0};
};

class BufferRing;

// One provided buffer that a completion handed out (IORING_CQE_F_BUFFER), held until its bytes
// are used. Move-only: the buffer goes back to the ring when the lease is reset or destroyed,
// so it can be neither kept by forgetting nor given back twice. The ring outlives its leases.
class BufferLease {
 public:
  BufferLease() = default;
  ~BufferLease() { reset(); }
  BufferLease(BufferLease&& other) noexcept
      : ring_(std::exchange(other.ring_, nullptr)), id_(other.id_) {}
  BufferLease& operator=(BufferLease&& other) noexcept {
    if (this != &other) {
      reset();
      ring_ = std::exchange(other.ring_, nullptr);
      id_ = other.id_;
    }
    return *this;
  }
  BufferLease(const BufferLease&) = delete;
  BufferLease& operator=(const BufferLease&) = delete;

  explicit operator bool() const { return ring_ != nullptr; }
  char* data() const;  // only while held
  // Gives the buffer back to the kernel now; a no-op when nothing is held.
  void reset();

 private:
  friend class BufferRing;
  BufferLease(BufferRing* ring, uint16_t id) : ring_(ring), id_(id) {}

  BufferRing* ring_ = nullptr;
  uint16_t id_ = 0;
};

// Receive buffers the kernel picks from at completion time, so an idle connection holds none
// (docs/architecture.md). A buffer handed out by a completion belongs to us until its lease ends.
class BufferRing {
 public:
  BufferRing() = default;
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // 0 or -errno. `count` must be a power of two. The buffers get the ids first_id and up.
  int init(Ring& ring, uint16_t group, uint32_t count, uint32_t buffer_size, uint16_t first_id = 0);
  // A second group of larger buffers (adaptive receives, Tuning::big_receive_bytes) whose ids
  // follow this ring's: a completion's buffer id then tells which ring it came from, so take()
  // and note_taken() serve both and no caller needs to know which group its receive used.
  void add_larger(BufferRing& larger) { larger_ = &larger; }
  // Sets `larger` up as that group (the next group number, the next ids) and adds it. 0/-errno.
  int init_larger(BufferRing& larger, uint32_t count, uint32_t buffer_size) {
    const int result = larger.init(*ring_, static_cast<uint16_t>(group_ + 1), count, buffer_size,
                                   static_cast<uint16_t>(first_id_ + count_));
    if (result == 0) add_larger(larger);
    return result;
  }

  uint16_t group() const { return group_; }
  uint32_t buffer_size() const { return buffer_size_; }
  char* data(uint16_t id) { return memory_ + static_cast<size_t>(id - first_id_) * buffer_size_; }
  // A completion handed out a buffer (IORING_CQE_F_BUFFER); the worker calls this once for each.
  void note_taken(const io_uring_cqe& cqe) { owner(cqe).taken_++; }
  // The buffer `cqe` carries, or an empty lease when it carries none. Take it once per
  // completion: whoever holds the lease owns the buffer.
  BufferLease take(const io_uring_cqe& cqe) {
    if ((cqe.flags & IORING_CQE_F_BUFFER) == 0) return {};
    return {&owner(cqe), static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT)};
  }
  // Buffers the kernel can pick from now: the ring's count less those handed out and not yet
  // given back. A buffer leaves the ring only through a completion, so this is exact.
  uint32_t available() const { return count_ - taken_; }

 private:
  friend class BufferLease;
  void give_back(uint16_t id);
  BufferRing& owner(const io_uring_cqe& cqe) {
    const uint32_t id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
    return larger_ != nullptr && id >= uint32_t{first_id_} + count_ ? *larger_ : *this;
  }

  Ring* ring_ = nullptr;
  io_uring_buf_ring* buf_ring_ = nullptr;
  char* memory_ = nullptr;
  size_t ring_bytes_ = 0;
  size_t memory_bytes_ = 0;
  uint32_t count_ = 0;
  uint32_t taken_ = 0;
  uint32_t buffer_size_ = 0;
  uint16_t group_ = 0;
  uint16_t first_id_ = 0;
  BufferRing* larger_ = nullptr;
};

inline char* BufferLease::data() const { return ring_->data(id_); }

inline void BufferLease::reset() {
  if (ring_ == nullptr) return;
  std::exchange(ring_, nullptr)->give_back(id_);
}

}  // namespace ringlb
