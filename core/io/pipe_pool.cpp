// The worker's pipe pool: opening pipes lazily, lending them, closing the ones given back dirty.
#include "core/io/pipe_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/log.hpp"

namespace ringlb {

PipeLease& PipeLease::operator=(PipeLease&& other) noexcept {
  if (this == &other) return *this;
  reset();
  pool_ = other.pool_;
  read_fd_ = other.read_fd_;
  write_fd_ = other.write_fd_;
  capacity_ = other.capacity_;
  bytes_ = other.bytes_;
  in_flight_ = other.in_flight_;
  other.pool_ = nullptr;
  return *this;
}

void PipeLease::reset() {
  if (pool_ == nullptr) return;
  pool_->give_back({read_fd_, write_fd_, capacity_}, bytes_ == 0 && in_flight_ == 0);
  pool_ = nullptr;
  read_fd_ = write_fd_ = -1;
  capacity_ = bytes_ = in_flight_ = 0;
}

PipePool::~PipePool() {
  for (const Pipe& pipe : free_) {
    close(pipe.read_fd);
    close(pipe.write_fd);
  }
}

void PipePool::configure(uint32_t max_pipes, uint32_t pipe_bytes) {
  max_pipes_ = max_pipes;
  pipe_bytes_ = pipe_bytes;
  free_.reserve(max_pipes);
}

PipeLease PipePool::take() {
  Pipe pipe{};
  if (!free_.empty()) {
    pipe = free_.back();
    free_.pop_back();
  } else if (open_ >= max_pipes_ || !open_pipe(pipe)) {
    return {};
  }
  PipeLease lease;
  lease.pool_ = this;
  lease.read_fd_ = pipe.read_fd;
  lease.write_fd_ = pipe.write_fd;
  lease.capacity_ = pipe.capacity;
  return lease;
}

// Non-blocking both ends: a splice never waits on the pipe, only reports EAGAIN.
bool PipePool::open_pipe(Pipe& pipe) {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    LOG_DEBUG("pipe for splice: %s", std::strerror(errno));
    return false;
  }
  const int size = fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(pipe_bytes_));
  if (size < 0) {
    // EPERM: past fs.pipe-user-pages-soft (or the size is above fs.pipe-max-size). A pipe of
    // the minimum size would cost a splice per page; the pool stops growing instead.
    LOG_WARN("splice pipes: F_SETPIPE_SZ %u refused (%s); %u pipes is the worker's limit",
             pipe_bytes_, std::strerror(errno), open_);
    close(fds[0]);
    close(fds[1]);
    max_pipes_ = open_;
    return false;
  }
  pipe = {fds[0], fds[1], static_cast<uint32_t>(size)};
  ++open_;
  return true;
}

void PipePool::give_back(const Pipe& pipe, bool empty) {
  if (empty) return free_.push_back(pipe);
  close(pipe.read_fd);
  close(pipe.write_fd);
  --open_;
}

}  // namespace ringlb
