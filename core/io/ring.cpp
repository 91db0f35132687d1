// Ring and BufferRing set-up and teardown; the hot methods are small and live here too.
#include "core/io/ring.hpp"

#include <sys/mman.h>

#include <cerrno>

#include "core/io/tuning.hpp"

namespace ringlb {

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&ring_);
}

int Ring::init(uint32_t entries, const Tuning& tuning) {
  submit_each_operation_ = tuning.submit == Tuning::Submit::kPerOperation;
  receive_poll_first_ = tuning.receive_poll_first;
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                 IORING_SETUP_SUBMIT_ALL;
  if (tuning.ring_setup == Tuning::RingSetup::kCoopTaskrun) {
    params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  } else if (tuning.ring_setup == Tuning::RingSetup::kPlain) {
    params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  }
  params.cq_entries = entries * 4;
  int result = io_uring_queue_init_params(entries, &ring_, &params);
  if (result == -EINVAL) {
    // Older kernels lack DEFER_TASKRUN; COOP_TASKRUN keeps most of the benefit.
    params = {};
    params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    params.cq_entries = entries * 4;
    result = io_uring_queue_init_params(entries, &ring_, &params);
  }
  initialized_ = result == 0;
  // Registered on the creating thread, which is the only one that may enter this ring.
  if (initialized_ && tuning.register_ring_fd) io_uring_register_ring_fd(&ring_);
  return result;
}

io_uring_sqe* Ring::sqe() {
  if (submit_each_operation_) submit_previous();
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Ring::reserve(unsigned count) {
  if (io_uring_sq_space_left(&ring_) < count) io_uring_submit(&ring_);
}

// Bench-only (RINGLB_LEVER_SUBMIT_EACH=operation): submits the operation prepared last, unless
// it is linked to the next one, which must share its submission.
void Ring::submit_previous() {
  if (io_uring_sq_ready(&ring_) == 0) return;
  const io_uring_sqe& last = ring_.sq.sqes[(ring_.sq.sqe_tail - 1) & ring_.sq.ring_mask];
  if ((last.flags & IOSQE_IO_LINK) == 0) io_uring_submit(&ring_);
}

// Bench-only (RINGLB_LEVER_RECV_POLL_FIRST): receives queued this turn wait for readiness
// before their first attempt, as a multishot receive re-armed by the kernel would.
void Ring::mark_receives_poll_first() {
  for (unsigned i = ring_.sq.sqe_head; i != ring_.sq.sqe_tail; ++i) {
    io_uring_sqe& queued = ring_.sq.sqes[i & ring_.sq.ring_mask];
    if (queued.opcode == IORING_OP_RECV) queued.ioprio |= IORING_RECVSEND_POLL_FIRST;
  }
}

int Ring::submit_and_wait(std::chrono::nanoseconds timeout) {
  if (receive_poll_first_) mark_receives_poll_first();
  __kernel_timespec ts{};
  ts.tv_sec = timeout.count() / 1000000000;
  ts.tv_nsec = timeout.count() % 1000000000;
  io_uring_cqe* cqe = nullptr;
  if (busy_poll_.count() > 0) {
    int submitted = io_uring_submit(&ring_);
    const auto until = std::chrono::steady_clock::now() + busy_poll_;
    do {
      if (io_uring_cq_ready(&ring_) > 0) return submitted;
      io_uring_get_events(&ring_);  // runs the task work that posts completions
    } while (std::chrono::steady_clock::now() < until);
  }
  return io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
}

BufferRing::~BufferRing() {
  if (buf_ring_ != nullptr) {
    io_uring_unregister_buf_ring(ring_->raw(), group_);
    munmap(buf_ring_, ring_bytes_);
  }
  if (memory_ != nullptr) munmap(memory_, memory_bytes_);
}

int BufferRing::init(Ring& ring, uint16_t group, uint32_t count, uint32_t buffer_size,
                     uint16_t first_id) {
  ring_ = &ring;
  group_ = group;
  first_id_ = first_id;
  count_ = count;
  buffer_size_ = buffer_size;
  ring_bytes_ = count * sizeof(io_uring_buf);
  memory_bytes_ = static_cast<size_t>(count) * buffer_size;
  void* ring_memory =
      mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring_memory == MAP_FAILED) return -errno;
  buf_ring_ = static_cast<io_uring_buf_ring*>(ring_memory);
  void* buffers =
      mmap(nullptr, memory_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (buffers == MAP_FAILED) return -errno;
  memory_ = static_cast<char*>(buffers);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(buf_ring_);
  reg.ring_entries = count;
  reg.bgid = group;
  int result = io_uring_register_buf_ring(ring.raw(), &reg, 0);
  if (result != 0) {
    munmap(buf_ring_, ring_bytes_);
    buf_ring_ = nullptr;
    return result;
  }
  io_uring_buf_ring_init(buf_ring_);
  const int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    const auto id = static_cast<uint16_t>(first_id + i);
    io_uring_buf_ring_add(buf_ring_, data(id), buffer_size, id, mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buf_ring_, count);
  return 0;
}

void BufferRing::give_back(uint16_t id) {
  io_uring_buf_ring_add(buf_ring_, data(id), buffer_size_, id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
  --taken_;
}

}  // namespace ringlb
