// The probes' I/O. Each step is one operation linked to a timeout at the probe's deadline; the
// step is over when both completions arrived, whichever came first, so nothing the kernel may
// still touch (the timespec, the buffers, the socket) is reused or freed early.
#include "core/health_probe.hpp"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace ringlb {

using health::CheckResult;
using health::ResultKind;

Probe::~Probe() { close_socket(); }

void Probe::close_socket() {
  if (fd_ < 0) return;
  // Reset rather than FIN: a probe every second per backend would otherwise leave a TIME_WAIT
  // socket per check on this host (HAProxy closes its checks the same way).
  const linger abort_on_close{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  close(fd_);
  fd_ = -1;
}

std::optional<CheckResult> Probe::start(Ring& ring, uint32_t slot, uint32_t generation,
                                        TimePoint now) {
  close_socket();
  slot_ = slot;
  generation_ = generation;
  deadline_ = now + timeout_;
  fd_ = socket(address_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return CheckResult::connect_failed(errno);
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ring.reserve(2);
  io_uring_sqe* sqe = ring.sqe();
  io_uring_prep_connect(sqe, fd_, address_.get(), address_.length);
  return submit_bounded(ring, sqe, Step::kConnect, now);
}

std::optional<CheckResult> Probe::submit_bounded(Ring& ring, io_uring_sqe* sqe, Step step,
                                                 TimePoint now) {
  step_ = step;
  step_result_ = 0;
  step_timed_out_ = false;
  const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_ - now);
  if (left.count() <= 0) {
    // The sqe is already taken: turn it into a no-op that completes at once.
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, OpTag{OpKind::kIgnore, 0, 0}.encode());
    close_socket();
    return timed_out();
  }
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::kProbe, slot_, generation_}.encode());
  timeout_storage_.tv_sec = left.count() / 1000000000;
  timeout_storage_.tv_nsec = left.count() % 1000000000;
  io_uring_sqe* timeout = ring.sqe();
  io_uring_prep_link_timeout(timeout, &timeout_storage_, 0);
  io_uring_sqe_set_data64(timeout, OpTag{OpKind::kProbeTimeout, slot_, generation_}.encode());
  in_flight_ = 2;
  return std::nullopt;
}

std::optional<CheckResult> Probe::send(Ring& ring, const char* data, size_t size, TimePoint now) {
  ring.reserve(2);
  io_uring_sqe* sqe = ring.sqe();
  io_uring_prep_send(sqe, fd_, data, size, MSG_NOSIGNAL);
  return submit_bounded(ring, sqe, Step::kSend, now);
}

std::optional<CheckResult> Probe::receive(Ring& ring, char* data, size_t size, TimePoint now) {
  ring.reserve(2);
  io_uring_sqe* sqe = ring.sqe();
  io_uring_prep_recv(sqe, fd_, data, size, 0);
  return submit_bounded(ring, sqe, Step::kReceive, now);
}

void Probe::cancel(Ring& ring) {
  if (!busy()) return;
  io_uring_sqe* sqe = ring.sqe();
  io_uring_prep_cancel64(sqe, OpTag{OpKind::kProbe, slot_, generation_}.encode(), 0);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::kIgnore, 0, 0}.encode());
}

std::optional<CheckResult> Probe::on_completion(Ring& ring, OpKind kind, int result,
                                                TimePoint now) {
  if (in_flight_ == 0) return std::nullopt;  // not ours (cannot happen: generations match)
  if (kind == OpKind::kProbeTimeout) {
    step_timed_out_ = result == -ETIME;
  } else {
    step_result_ = result;
  }
  if (--in_flight_ > 0) return std::nullopt;
  std::optional<CheckResult> verdict = step_done(ring, now);
  if (verdict) close_socket();
  return verdict;
}

CheckResult Probe::timed_out() const {
  const ResultKind kind =
      step_ == Step::kConnect ? ResultKind::kConnectTimeout : ResultKind::kResponseTimeout;
  return CheckResult::timed_out(kind, timeout_);
}

std::optional<CheckResult> Probe::step_done(Ring& ring, TimePoint now) {
  if (step_timed_out_) return timed_out();
  if (step_ != Step::kConnect) return on_transfer(ring, step_, step_result_, now);
  if (step_result_ < 0) return CheckResult::connect_failed(-step_result_);
  return on_connected(ring, now);
}

std::optional<CheckResult> Probe::on_transfer(Ring&, Step, int, TimePoint) {
  return CheckResult{ResultKind::kBadResponse, 0, 0, {}};  // a probe without transfers
}

std::optional<CheckResult> TcpProbe::on_connected(Ring&, TimePoint) { return CheckResult::pass(); }

HttpProbe::HttpProbe(const SocketAddress& address, std::chrono::milliseconds timeout,
                     health::HttpCheckSpec spec, const std::string& backend_address)
    : Probe(address, timeout),
      spec_(std::move(spec)),
      request_(health::build_check_request(spec_, backend_address)),
      response_(spec_) {}

std::optional<CheckResult> HttpProbe::on_connected(Ring& ring, TimePoint now) {
  sent_ = 0;
  response_.reset();
  return send(ring, request_.data(), request_.size(), now);
}

std::optional<CheckResult> HttpProbe::on_transfer(Ring& ring, Step step, int result,
                                                  TimePoint now) {
  if (result < 0) return CheckResult{ResultKind::kBadResponse, -result, 0, {}};
  if (step == Step::kSend) {
    sent_ += static_cast<size_t>(result);
    if (sent_ < request_.size()) {
      return send(ring, request_.data() + sent_, request_.size() - sent_, now);
    }
  } else if (result == 0) {
    return response_.closed();
  } else if (auto verdict = response_.received(static_cast<size_t>(result))) {
    return verdict;
  }
  const std::span<char> space = response_.space();
  return receive(ring, space.data(), space.size(), now);
}

}  // namespace ringlb
