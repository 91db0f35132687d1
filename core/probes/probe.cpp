// The probes' I/O. Each step is one operation linked to a timeout at the probe's deadline; the
// step is over when both completions arrived, whichever came first, so nothing the kernel may
// still touch (the timespec, the buffers, the socket, the TLS channel's ciphertext) is reused or
// freed early. TLS runs through a TlsStream as on the workers (core/io/tls_stream.hpp): every
// ciphertext byte is one of these steps.
#include "core/probes/probe.hpp"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/base/log.hpp"
#include "core/io/proxy_header_send.hpp"

namespace ringlb {
namespace {

// What one TLS receive may bring: a server's whole first flight with a short chain, or a small
// check response, in one step.
constexpr size_t kCiphertextChunk = size_t{8} * 1024;
constexpr const char* kHandshakeFailed = "TLS handshake failed";
constexpr const char* kTlsError = "TLS error";

}  // namespace

using health::CheckResult;
using health::ResultKind;

Probe::~Probe() { close_socket(); }

void Probe::use_tls(std::shared_ptr<const TlsClientContext> context, std::string log_name) {
  tls_context_ = std::move(context);
  tls_log_name_ = std::move(log_name);
}

void Probe::close_socket() {
  tls_.reset();  // nothing of it is in flight: the probe is not busy, or its sqe became a no-op
  handshaking_ = false;
  concluding_.reset();
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
  if (!tls_) return send_bytes(ring, data, size, now);
  tls_->write(std::string_view(data, size));
  plaintext_sending_ = size;
  std::optional<CheckResult> step;
  if (!flush_tls(ring, now, step)) return tls_failed(kTlsError, "cannot encrypt the request");
  return step;
}

std::optional<CheckResult> Probe::receive(Ring& ring, char* data, size_t size, TimePoint now) {
  if (!tls_) return receive_bytes(ring, data, size, now);
  plaintext_space_ = std::span<char>(data, size);
  return decrypt(ring, now);  // a receive that brought the handshake's end may hold some already
}

std::optional<CheckResult> Probe::send_bytes(Ring& ring, const char* data, size_t size,
                                             TimePoint now) {
  ring.reserve(2);
  io_uring_sqe* sqe = ring.sqe();
  io_uring_prep_send(sqe, fd_, data, size, MSG_NOSIGNAL);
  return submit_bounded(ring, sqe, Step::kSend, now);
}

std::optional<CheckResult> Probe::receive_bytes(Ring& ring, char* data, size_t size,
                                                TimePoint now) {
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
  if (!verdict) return verdict;
  close_socket();
  if (verdict->passed()) last_tls_failure_.clear();  // a later TLS failure is news again
  return verdict;
}

CheckResult Probe::timed_out() const {
  const ResultKind kind =
      step_ == Step::kConnect ? ResultKind::kConnectTimeout : ResultKind::kResponseTimeout;
  return CheckResult::timed_out(kind, timeout_);
}

std::optional<CheckResult> Probe::step_done(Ring& ring, TimePoint now) {
  if (step_timed_out_) return timed_out();
  if (tls_) return tls_step_done(ring, now);
  if (step_ != Step::kConnect) return on_transfer(ring, step_, step_result_, now);
  if (step_result_ < 0) return CheckResult::connect_failed(-step_result_);
  if (const int sent = send_local_proxy_header(proxy_header_, fd_); sent < 0) {
    return CheckResult::connect_failed(-sent);
  }
  if (tls_context_) return start_tls(ring, now);
  return on_connected(ring, now);
}

std::optional<CheckResult> Probe::start_tls(Ring& ring, TimePoint now) {
  const config::PoolTls& settings = tls_context_->config();
  tls_ = std::make_unique<TlsChannel>(tls_context_->context(), TlsChannel::Role::kClient,
                                      settings.sni, settings.verify);
  if (!tls_->valid()) return tls_failed(kHandshakeFailed, "cannot create a TLS connection");
  ciphertext_.resize(kCiphertextChunk);
  handshaking_ = true;
  return advance_handshake(ring, now);
}

// Sends whatever the handshake produced before reading more. The client's last flight (its
// Finished) stays in the channel: it leaves with the request, or with the close_notify of
// conclude(), so the server always sees a whole handshake.
std::optional<CheckResult> Probe::advance_handshake(Ring& ring, TimePoint now) {
  const TlsChannel::Status status = tls_->handshake();
  if (status == TlsChannel::Status::kFailed) return tls_failed(kHandshakeFailed, tls_->failure());
  if (status == TlsChannel::Status::kClosed) {
    return tls_failed(kHandshakeFailed, "close_notify during the handshake");
  }
  if (status == TlsChannel::Status::kOk) {
    handshaking_ = false;
    return on_connected(ring, now);
  }
  if (std::optional<CheckResult> step; flush_tls(ring, now, step)) return step;
  return receive_bytes(ring, ciphertext_.data(), ciphertext_.size(), now);
}

std::optional<CheckResult> Probe::conclude(Ring& ring, CheckResult verdict, TimePoint now) {
  if (!tls_) return verdict;
  // Not TlsStream::finish(): a send past the deadline frees the stream (close_socket()).
  tls_->shutdown();
  concluding_ = verdict;
  if (std::optional<CheckResult> step; flush_tls(ring, now, step)) return step;
  concluding_.reset();
  return verdict;
}

// Submits the ciphertext waiting in the channel as the next step, whose outcome `step` takes;
// false when none waits.
bool Probe::flush_tls(Ring& ring, TimePoint now, std::optional<CheckResult>& step) {
  return tls_.flush([&](std::string_view ciphertext) {
    step = send_bytes(ring, ciphertext.data(), ciphertext.size(), now);
  });
}

// A send or receive of ciphertext finished: during the handshake it drives the handshake, after
// it each send or receive of the subclass completes once its bytes are through.
std::optional<CheckResult> Probe::tls_step_done(Ring& ring, TimePoint now) {
  const int result = step_result_;
  if (result < 0) {
    if (!handshaking_ && !concluding_) return on_transfer(ring, step_, result, now);
    if (handshaking_) return tls_failed(kTlsError, std::strerror(-result));
    return CheckResult{ResultKind::kBadResponse, -result, 0, {}};
  }
  if (step_ == Step::kSend) {
    tls_.on_sent(result);
    if (std::optional<CheckResult> step; flush_tls(ring, now, step)) return step;
    if (concluding_) return std::exchange(concluding_, std::nullopt);
    if (handshaking_) return advance_handshake(ring, now);
    return on_transfer(ring, Step::kSend, static_cast<int>(plaintext_sending_), now);
  }
  if (result == 0) {
    // Closed early: during the handshake that is a peer refusing TLS without an alert.
    if (handshaking_) return tls_failed(kTlsError, "the backend closed during the handshake");
    return on_transfer(ring, Step::kReceive, 0, now);
  }
  tls_->feed(ciphertext_.data(), static_cast<size_t>(result));
  if (handshaking_) return advance_handshake(ring, now);
  return decrypt(ring, now);
}

// Fills the subclass's space with what the channel can decrypt, and receives more ciphertext
// only when it has none.
std::optional<CheckResult> Probe::decrypt(Ring& ring, TimePoint now) {
  size_t total = 0;
  const TlsChannel::Status status = tls_.decrypt(plaintext_space_, total);
  if (total > 0) return on_transfer(ring, Step::kReceive, static_cast<int>(total), now);
  switch (status) {
    case TlsChannel::Status::kWantRead:
      // What reading made OpenSSL write (KeyUpdates) goes out with the close_notify; a backend
      // that keeps asking for more of it than TlsStream::kMaxUnsent fails the check instead of
      // growing the prober until the timeout.
      if (!tls_.may_receive()) return tls_failed(kTlsError, "too many post-handshake messages");
      return receive_bytes(ring, ciphertext_.data(), ciphertext_.size(), now);
    case TlsChannel::Status::kClosed:
      return on_transfer(ring, Step::kReceive, 0, now);
    default:
      return tls_failed(kTlsError, tls_->failure());
  }
}

// The check fails as L6RSP, "TLS failed"; the reason goes to a warning, once until a check
// passes or the reason changes, so a backend down for hours with an expired certificate logs it
// once, not every interval.
CheckResult Probe::tls_failed(const char* what, const std::string& why) {
  std::string failure = std::string(what) + ": " + why;
  if (failure != last_tls_failure_) {
    LOG_WARN("%s: health check: %s", tls_log_name_.c_str(), failure.c_str());
    last_tls_failure_ = std::move(failure);
  }
  return CheckResult{ResultKind::kTlsFailed, EPROTO, 0, {}};
}

std::optional<CheckResult> Probe::on_transfer(Ring&, Step, int, TimePoint) {
  return CheckResult{ResultKind::kBadResponse, 0, 0, {}};  // a probe without transfers
}

}  // namespace ringlb
