// Session helpers shared by the L4 and L7 sessions: starting a backend connect.
#include "core/proxy/session.hpp"

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/base/log.hpp"

namespace ringlb {

int Session::start_connect(const SocketAddress& address, config::Duration timeout,
                           __kernel_timespec& timeout_storage) {
  const int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  tune_socket(fd, ctx_->tuning);
  // The connect and its timeout are linked, so both must land in the same submission.
  ctx_->ring.reserve(2);
  io_uring_sqe* sqe = ctx_->ring.sqe();
  io_uring_prep_connect(sqe, fd, address.get(), address.length);
  sqe->flags |= IOSQE_IO_LINK;
  submit(sqe, OpKind::kConnect);
  timeout_storage.tv_sec = timeout.count() / 1000;
  timeout_storage.tv_nsec = (timeout.count() % 1000) * 1000000;
  sqe = ctx_->ring.sqe();
  io_uring_prep_link_timeout(sqe, &timeout_storage, 0);
  submit(sqe, OpKind::kConnectTimeout);
  return fd;
}

void Session::submit_receive(int fd, OpKind kind, bool multishot) {
  io_uring_sqe* sqe = ctx_->ring.sqe();
  if (multishot) {
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  } else {
    io_uring_prep_recv(sqe, fd, nullptr, 0, 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = ctx_->buffers.group();
  submit(sqe, kind);
}

void Session::submit_large_receive(int fd, OpKind kind) {
  io_uring_sqe* sqe = ctx_->ring.sqe();
  io_uring_prep_recv(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = ctx_->large_buffers->group();
  submit(sqe, kind);
}

void Session::wait_multishot(MultishotReceive& receive, int fd, OpKind kind) {
  if (receive.has_arrival()) {
    hand_over_next_turn(kind);
  } else if (!receive.armed()) {
    arm_multishot(receive, fd, kind);
  }
}

bool Session::route_multishot(MultishotReceive& receive, const io_uring_cqe& cqe, bool waiting,
                              int fd, OpKind kind) {
  if (closing_) return true;  // the session's handler gives the buffer back
  switch (receive.on_completion(cqe, waiting)) {
    case MultishotReceive::Route::kHandle:
      return true;
    case MultishotReceive::Route::kQueued:
      receive.hold_last(ctx_->buffers);
      if (receive.should_cancel()) {
        io_uring_sqe* sqe = ctx_->ring.sqe();
        io_uring_prep_cancel64(sqe, OpTag{kind, tag_.slot, tag_.generation}.encode(), 0);
        submit(sqe, OpKind::kCancel);
      }
      return false;
    case MultishotReceive::Route::kRearm:
      arm_multishot(receive, fd, kind);
      return false;
    case MultishotReceive::Route::kRetryLater:
      wait_for_buffers(kind);
      return false;
    case MultishotReceive::Route::kNothing:
      return false;
  }
  return false;
}

bool Session::resume_multishot(MultishotReceive& receive, bool waiting, int fd, OpKind kind,
                               io_uring_cqe& next) {
  if (closing_ || !waiting) return false;
  if (receive.has_arrival()) {
    next = receive.pop();
    return true;
  }
  if (!receive.armed()) arm_multishot(receive, fd, kind);
  return false;
}

std::span<const uint8_t> peer_address_bytes(const sockaddr_in6& peer) {
  if (peer.sin6_family == AF_INET6) {
    return {reinterpret_cast<const uint8_t*>(&peer.sin6_addr), sizeof(peer.sin6_addr)};
  }
  const auto& in4 = reinterpret_cast<const sockaddr_in&>(peer);
  return {reinterpret_cast<const uint8_t*>(&in4.sin_addr), sizeof(in4.sin_addr)};
}

void log_connect_failure(const config::PoolConfig& pool, const std::string& backend, int result) {
  if (result == -ECANCELED) {
    LOG_WARN("pool %s: connect to %s timed out after %lldms", pool.name.c_str(), backend.c_str(),
             static_cast<long long>(pool.timeouts.connect.count()));
  } else {
    LOG_WARN("pool %s: connect to %s failed: %s", pool.name.c_str(), backend.c_str(),
             std::strerror(-result));
  }
}

}  // namespace ringlb
