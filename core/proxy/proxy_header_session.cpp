// Reading the PROXY protocol header: peek, parse, read exactly the header's bytes, hand on.
#include "core/proxy/proxy_header_session.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/base/log.hpp"
#include "core/io/socket_util.hpp"

namespace ringlb {
namespace {

// At most one refusal line per second and worker: an untrusted flood must not flood the log.
// The lines not written are counted in /metrics all the same.
bool may_log_refusal(TimerWheel::Clock::time_point now) {
  thread_local TimerWheel::Clock::time_point next_log{};
  if (now < next_log) return false;
  next_log = now + std::chrono::seconds(1);
  return true;
}

// The socket's peer, read again: by now the session may hold the address a header carried.
std::string peer_text(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof(peer);
  getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length);
  return format_socket_address(peer);
}

}  // namespace

void ProxyHeaderSession::start(WorkerContext& ctx, OpTag tag, int client_fd,
                               std::shared_ptr<const Snapshot> snapshot, const Listener& listener) {
  bind(ctx, tag);
  client_fd_ = client_fd;
  snapshot_ = std::move(snapshot);
  listener_ = &listener;
  socklen_t length = sizeof(addresses_.client);
  getpeername(client_fd, reinterpret_cast<sockaddr*>(&addresses_.client), &length);
  if (!trusted()) return refuse(health::ProxyRefusal::kUntrusted, "not in proxy_protocol_from");
  ctx.timers.schedule(timer_, ctx.now + listener.config->timeouts.tls_handshake);
  peek();
}

bool ProxyHeaderSession::trusted() const {
  const std::span<const uint8_t> address = peer_address_bytes(addresses_.client);
  for (const config::Cidr& range : listener_->config->proxy_protocol_from) {
    if (config::contains(range, address)) return true;
  }
  return false;
}

// MSG_PEEK: bytes past the header (a ClientHello, a request) stay in the socket for the next
// session. The buffer outlives the receive: the session is freed only once nothing is in flight.
void ProxyHeaderSession::peek() {
  io_uring_sqe* sqe = ctx_->ring.sqe();
  io_uring_prep_recv(sqe, client_fd_, header_.data() + have_, header_.size() - have_, MSG_PEEK);
  submit(sqe, OpKind::kRecvClient);
}

bool ProxyHeaderSession::consume(size_t count) {
  if (count == 0) return true;
  const ssize_t read = recv(client_fd_, header_.data() + have_, count, MSG_DONTWAIT);
  if (read != static_cast<ssize_t>(count)) return false;
  have_ += count;
  return true;
}

void ProxyHeaderSession::on_completion(OpKind kind, const io_uring_cqe& cqe) {
  completed(cqe);
  if (kind != OpKind::kRecvClient || closing_) return;
  if (left_to_skip_ > 0) return on_skipped(cqe.res);
  on_peeked(cqe.res);
}

void ProxyHeaderSession::on_peeked(int result) {
  if (result <= 0) {
    return refuse(health::ProxyRefusal::kInvalid,
                  result == 0 ? "closed before a complete PROXY header" : std::strerror(-result));
  }
  const size_t seen = have_ + static_cast<size_t>(result);
  const proxy_protocol::Result header = proxy_protocol::parse(std::span(header_.data(), seen));
  switch (header.status) {
    case proxy_protocol::Status::kInvalid:
      return refuse(health::ProxyRefusal::kInvalid, header.problem);
    case proxy_protocol::Status::kNeedMore:
      // Every byte seen is header: read them off, so that the next peek waits for new ones.
      if (!consume(static_cast<size_t>(result))) {
        return refuse(health::ProxyRefusal::kInvalid, "the header could not be read");
      }
      return peek();
    case proxy_protocol::Status::kDone: {
      // All of the header that was peeked; a v2 header's TLVs may go past it.
      const size_t in_view = std::min(header.header_bytes, seen);
      if (!consume(in_view - have_)) {
        return refuse(health::ProxyRefusal::kInvalid, "the header could not be read");
      }
      left_to_skip_ = header.header_bytes - in_view;
      on_header(header);
      return left_to_skip_ > 0 ? skip_rest() : finish();
    }
  }
}

// Every byte asked for is header (at most left_to_skip_), so a plain receive reads no further.
void ProxyHeaderSession::skip_rest() {
  io_uring_sqe* sqe = ctx_->ring.sqe();
  io_uring_prep_recv(sqe, client_fd_, header_.data(), std::min(left_to_skip_, header_.size()), 0);
  submit(sqe, OpKind::kRecvClient);
}

void ProxyHeaderSession::on_skipped(int result) {
  if (result <= 0) {
    return refuse(health::ProxyRefusal::kInvalid,
                  result == 0 ? "closed before a complete PROXY header" : std::strerror(-result));
  }
  left_to_skip_ -= std::min(left_to_skip_, static_cast<size_t>(result));
  if (left_to_skip_ > 0) return skip_rest();
  finish();
}

void ProxyHeaderSession::on_header(const proxy_protocol::Result& header) {
  if (header.carries_addresses) {
    addresses_.client = header.source;
    addresses_.local = header.destination;
  } else {  // LOCAL, UNKNOWN: the real endpoints (a health check from the L4 tier)
    socklen_t length = sizeof(addresses_.local);
    getsockname(client_fd_, reinterpret_cast<sockaddr*>(&addresses_.local), &length);
  }
}

void ProxyHeaderSession::finish() {
  header_read_ = true;
  cancel_all({});  // nothing is in flight: the session is finished, and the worker hands it on
}

void ProxyHeaderSession::refuse(health::ProxyRefusal why, const char* detail) {
  listener_->stats->at(ctx_->worker_id).proxy_protocol_refused[static_cast<size_t>(why)].add();
  if (may_log_refusal(ctx_->now)) {
    LOG_WARN("listener %s: connection from %s closed: %s (%s); at most one such line a second",
             listener_->config->name.c_str(), peer_text(client_fd_).c_str(),
             health::kProxyRefusalNames[static_cast<size_t>(why)], detail);
  }
  cancel_all({client_fd_});
}

void ProxyHeaderSession::on_timer() {
  if (closing_) return;
  refuse(health::ProxyRefusal::kTimeout, "no complete PROXY header within tls_handshake");
}

bool ProxyHeaderSession::drain(bool stopping) {
  if (!stopping) return false;
  cancel_all({client_fd_});
  return true;
}

ProxyHeaderSession::Handoff ProxyHeaderSession::take_handoff() {
  Handoff handoff{client_fd_, std::move(snapshot_), listener_, addresses_};
  client_fd_ = -1;
  return handoff;
}

void ProxyHeaderSession::release() {
  close_fd(client_fd_);
  snapshot_.reset();
}

}  // namespace ringlb
