// The probe interface the health checker drives, and what every kind of probe shares
// (docs/architecture.md, Envoy's checker split): a fresh socket per attempt, one operation at a
// time, each bounded by what is left of the probe's timeout through a linked timeout, TLS when the
// pool speaks it (a TlsStream), and closing. A kind (tcp_probe.cpp, http_probe.cpp) only says what
// happens once connected; probe_registry.cpp maps the config's check to it. A probe uses no pooled
// connection and never runs on a worker.
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/io/op_tag.hpp"
#include "core/io/ring.hpp"
#include "core/io/socket_util.hpp"
#include "core/io/tls_context.hpp"
#include "core/io/tls_stream.hpp"
#include "health/backend_health.hpp"
#include "health/check_result.hpp"

namespace ringlb {

class Probe {
 public:
  using TimePoint = health::TimePoint;

  Probe(const SocketAddress& address, std::chrono::milliseconds timeout)
      : address_(address), timeout_(timeout) {}
  virtual ~Probe();  // closes the socket; the probe must not be busy()
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Starts one attempt. Completions come back tagged {kProbe or kProbeTimeout, slot,
  // generation}. Returns a result at once only when the attempt cannot even start (no socket).
  std::optional<health::CheckResult> start(Ring& ring, uint32_t slot, uint32_t generation,
                                           TimePoint now);
  // One completion of this probe. Returns the result once the attempt is over, and only then:
  // no operation of it is in flight, so the probe may be reused or freed (docs/architecture.md).
  std::optional<health::CheckResult> on_completion(Ring& ring, OpKind kind, int result,
                                                   TimePoint now);
  // Asks the kernel to end the operation in flight now; its completions still arrive.
  void cancel(Ring& ring);
  bool busy() const { return in_flight_ > 0; }

  // From the next attempt on, "connected" means connected and a TLS handshake completed with
  // `context` (its SNI and verification settings), and send()/receive() move plaintext through
  // it. `log_name` ("pool app: backend 10.0.0.1:443") starts the warning a TLS failure logs
  // (again only after a passing check, or for another reason). The probe keeps the context
  // alive.
  void use_tls(std::shared_ptr<const TlsClientContext> context, std::string log_name);
  // From the next attempt on, a PROXY protocol header (v1 UNKNOWN, v2 LOCAL) goes first on
  // each connection, before TLS: the pool sends one on its traffic (send_proxy_protocol).
  void send_proxy_header(config::ProxyProtocolSend version) { proxy_header_ = version; }

 protected:
  enum class Step : uint8_t { kConnect, kSend, kReceive };

  // The connect (and on a TLS pool the handshake) succeeded. Either the verdict, or nullopt
  // after submitting the next step.
  virtual std::optional<health::CheckResult> on_connected(Ring& ring, TimePoint now) = 0;
  // A send or receive finished with `result` (bytes or -errno). Same contract.
  virtual std::optional<health::CheckResult> on_transfer(Ring& ring, Step step, int result,
                                                         TimePoint now);

  // For subclasses: the next step, bounded by what is left of the timeout. The buffer must stay
  // valid until the step completes (it is a member of the subclass). Over TLS, a send completes
  // with `size` once all its ciphertext left, and a receive with the plaintext bytes decrypted
  // into `data` (0 once the peer closed, with or without close_notify).
  std::optional<health::CheckResult> send(Ring& ring, const char* data, size_t size, TimePoint now);
  std::optional<health::CheckResult> receive(Ring& ring, char* data, size_t size, TimePoint now);
  // Ends the attempt with `verdict`. Over TLS it first sends what the channel still holds (the
  // handshake's last flight) and a close_notify; a failed send then fails the check.
  std::optional<health::CheckResult> conclude(Ring& ring, health::CheckResult verdict,
                                              TimePoint now);

 private:
  // What the ring moves: the subclass's bytes, or TLS ciphertext on their behalf.
  std::optional<health::CheckResult> send_bytes(Ring& ring, const char* data, size_t size,
                                                TimePoint now);
  std::optional<health::CheckResult> receive_bytes(Ring& ring, char* data, size_t size,
                                                   TimePoint now);
  // Links `operation` (already prepared in `sqe`) to a timeout at the deadline and submits both.
  std::optional<health::CheckResult> submit_bounded(Ring& ring, io_uring_sqe* sqe, Step step,
                                                    TimePoint now);
  std::optional<health::CheckResult> step_done(Ring& ring, TimePoint now);
  health::CheckResult timed_out() const;
  void close_socket();

  // TLS: the handshake after the connect, then the subclass's sends and receives.
  std::optional<health::CheckResult> start_tls(Ring& ring, TimePoint now);
  std::optional<health::CheckResult> advance_handshake(Ring& ring, TimePoint now);
  std::optional<health::CheckResult> tls_step_done(Ring& ring, TimePoint now);
  bool flush_tls(Ring& ring, TimePoint now, std::optional<health::CheckResult>& step);
  std::optional<health::CheckResult> decrypt(Ring& ring, TimePoint now);
  health::CheckResult tls_failed(const char* what, const std::string& why);

  const SocketAddress address_;
  const std::chrono::milliseconds timeout_;
  int fd_ = -1;
  config::ProxyProtocolSend proxy_header_ = config::ProxyProtocolSend::kOff;
  uint32_t slot_ = 0;
  uint32_t generation_ = 0;
  uint32_t in_flight_ = 0;
  Step step_ = Step::kConnect;
  int step_result_ = 0;
  bool step_timed_out_ = false;
  TimePoint deadline_;
  // Read by the kernel while the linked timeout is in flight: one step at a time, so one is
  // enough.
  __kernel_timespec timeout_storage_{};

  std::shared_ptr<const TlsClientContext> tls_context_;  // null: plain TCP
  std::string tls_log_name_;
  // One per attempt, freed with the socket. Its send buffer is what an in-flight send reads.
  TlsStream tls_;
  bool handshaking_ = false;
  std::optional<health::CheckResult> concluding_;  // conclude()'s verdict, once its send is done
  std::vector<char> ciphertext_;  // where TLS receives land; the kernel writes it while in flight
  size_t plaintext_sending_ = 0;  // the subclass's bytes the ciphertext in flight carries
  std::span<char> plaintext_space_;  // where decrypt() puts the subclass's bytes
  std::string last_tls_failure_;     // logged already; cleared by a passing check
};

}  // namespace ringlb
