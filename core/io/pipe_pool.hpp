// Kernel pipes that L4 tunnels splice through (docs/perf2-plan.md, 2.3): a worker lends one to a
// direction of a tunnel while it moves bulk data and takes it back as soon as the pipe is empty,
// so an idle connection never holds one (HAProxy's `maxpipes`: "the splice code dynamically
// allocates and releases pipes, and can fall back to standard copy"). Worker thread only.
//
// Limits: a pipe costs two descriptors, and its slots count toward the user's
// fs.pipe-user-pages-soft. The pool opens at most `max_pipes`, and stops growing for good once
// the kernel refuses F_SETPIPE_SZ (EPERM: the user is past the soft limit and new pipes would get
// the minimum size); a session that finds no pipe copies as without splice.
#pragma once

#include <cstdint>
#include <vector>

namespace ringlb {

class PipePool;

// One pipe lent to a session, and how many bytes sit in it. Given back empty it returns to the
// pool's free list; given back holding bytes (the session closed mid-transfer), or while a splice
// the ring runs (IORING_OP_SPLICE) may still move bytes into or out of it, it is closed, so no
// stale byte ever reaches the next borrower.
class PipeLease {
 public:
  PipeLease() = default;
  ~PipeLease() { reset(); }
  PipeLease(PipeLease&& other) noexcept { *this = static_cast<PipeLease&&>(other); }
  PipeLease& operator=(PipeLease&& other) noexcept;
  PipeLease(const PipeLease&) = delete;
  PipeLease& operator=(const PipeLease&) = delete;

  explicit operator bool() const { return pool_ != nullptr; }
  int read_fd() const { return read_fd_; }
  int write_fd() const { return write_fd_; }
  uint32_t bytes() const { return bytes_; }  // in the pipe, not yet taken by the sink
  uint32_t room() const { return capacity_ - bytes_; }
  void filled(uint32_t count) { bytes_ += count; }
  void drained(uint32_t count) { bytes_ -= count; }
  // A splice on the ring (uring variant) into or out of the pipe was submitted / completed: until
  // it completes nobody knows what the pipe holds.
  void begin_transfer() { ++in_flight_; }
  void end_transfer() { --in_flight_; }
  void reset();

 private:
  friend class PipePool;
  PipePool* pool_ = nullptr;
  int read_fd_ = -1;
  int write_fd_ = -1;
  uint32_t capacity_ = 0;
  uint32_t bytes_ = 0;
  uint32_t in_flight_ = 0;
};

class PipePool {
 public:
  PipePool() = default;
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // At most `max_pipes` open at once (lent or free), each grown to `pipe_bytes` with
  // F_SETPIPE_SZ. 0 pipes: take() always finds none.
  void configure(uint32_t max_pipes, uint32_t pipe_bytes);
  // A free pipe, else a new one; an empty lease when the pool is exhausted or the kernel
  // refuses (the caller copies instead).
  PipeLease take();
  uint32_t open() const { return open_; }
  uint32_t lent() const { return open_ - static_cast<uint32_t>(free_.size()); }

 private:
  friend class PipeLease;
  struct Pipe {
    int read_fd;
    int write_fd;
    uint32_t capacity;
  };
  bool open_pipe(Pipe& pipe);
  void give_back(const Pipe& pipe, bool empty);

  std::vector<Pipe> free_;
  uint32_t max_pipes_ = 0;
  uint32_t pipe_bytes_ = 0;
  uint32_t open_ = 0;
};

}  // namespace ringlb
