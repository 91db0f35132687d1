// Tests for core/probes/probe over TLS (its TlsStream), through the tcp and http kinds: real probes
// on a real io_uring ring against a TLS server on loopback (OpenSSL on a blocking socket in a
// thread). A check passes only after a verified handshake, fails with a bad response when the
// certificate does not verify or the server does not speak TLS, and the same probe runs attempt
// after attempt.
#include "core/probes/probe.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "core/io/tls_context.hpp"
#include "core/probes/probe_registry.hpp"
#include "tests/core/test_certificates.hpp"

namespace ringlb {
namespace {

using health::CheckResult;
using health::ResultKind;
using std::chrono::milliseconds;

// Accepts connections on 127.0.0.1 in a thread and hands each to `serve` (blocking socket, 2 s
// receive timeout), one at a time.
class LoopbackServer {
 public:
  explicit LoopbackServer(std::function<void(int)> serve) : serve_(std::move(serve)) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(listener_, 16);
    socklen_t length = sizeof(address);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    address_.length = sizeof(address);
    std::memcpy(&address_.storage, &address, sizeof(address));
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~LoopbackServer() {
    stopping_ = true;
    thread_.join();
    close(listener_);
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  const SocketAddress& address() const { return address_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      pollfd ready{listener_, POLLIN, 0};
      if (poll(&ready, 1, 20) <= 0) continue;
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const timeval limit{2, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
      serve_(fd);
      close(fd);
    }
  }

  std::function<void(int)> serve_;
  int listener_ = -1;
  SocketAddress address_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

class HealthProbeTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ringlb-health-probe-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_EQ(ring_.init(64), 0);
    backend_ = test_support::make_test_certificate(dir_, "backend", "DNS:app.test", 1);
    stranger_ = test_support::make_test_certificate(dir_, "stranger", "DNS:app.test", 2);
    config::ListenerTls tls;
    tls.certificates = {backend_};
    std::string error;
    server_context_ = TlsServerContext::build(tls, error);
    ASSERT_TRUE(server_context_) << error;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<const TlsClientContext> client(const std::string& ca, bool verify = true) {
    std::string error;
    auto context =
        TlsClientContext::build({verify, ca, "app.test", test_support::read_pem(ca)}, error);
    EXPECT_TRUE(context) << error;
    return context;
  }

  // A TLS server: handshake (no session tickets, so nothing races the probe's close), then, when
  // `reply` is set, read a request head and answer it; otherwise wait for the close_notify.
  std::function<void(int)> tls_server(std::string reply) {
    return [this, reply](int fd) {
      SSL* ssl = SSL_new(server_context_->initial());
      SSL_set_num_tickets(ssl, 0);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) {
        ++handshakes_;
        char buffer[4096];
        std::string received;
        while (true) {
          const int n = SSL_read(ssl, buffer, sizeof(buffer));
          if (n <= 0) {
            if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) ++close_notifies_;
            break;
          }
          received.append(buffer, static_cast<size_t>(n));
          if (!reply.empty() && received.find("\r\n\r\n") != std::string::npos) {
            request_ = received;
            SSL_write(ssl, reply.data(), static_cast<int>(reply.size()));
            SSL_shutdown(ssl);
            break;
          }
        }
      }
      SSL_free(ssl);
    };
  }

  // Runs one attempt of `probe` to its verdict on the ring, as the health checker does.
  std::optional<CheckResult> run(Probe& probe) {
    const auto now = health::Clock::now();
    if (auto verdict = probe.start(ring_, 3, 1, now)) return verdict;
    std::optional<CheckResult> verdict;
    const auto deadline = now + std::chrono::seconds(5);
    while (!verdict && health::Clock::now() < deadline) {
      ring_.submit_and_wait(milliseconds(10));
      ring_.for_each_completion([&](const io_uring_cqe& cqe) {
        const OpTag tag = OpTag::decode(cqe.user_data);
        if (tag.kind != OpKind::kProbe && tag.kind != OpKind::kProbeTimeout) return;
        EXPECT_EQ(tag.slot, 3u);
        if (auto result = probe.on_completion(ring_, tag.kind, cqe.res, health::Clock::now())) {
          verdict = result;
        }
      });
    }
    EXPECT_FALSE(probe.busy());
    return verdict;
  }

  static health::HttpCheckSpec http_spec() { return {"/healthz", "", {{200, 399}}, ""}; }

  // A probe of kind `check`, built through the registry as the health checker builds one.
  static std::unique_ptr<Probe> make(std::string_view check, const SocketAddress& address,
                                     milliseconds timeout) {
    return probe_factory(check)({address, timeout, http_spec(), "10.0.0.1:443"});
  }

  std::string dir_;
  Ring ring_;
  config::TlsCertificate backend_;
  config::TlsCertificate stranger_;
  std::shared_ptr<const TlsServerContext> server_context_;
  std::atomic<int> handshakes_{0};
  std::atomic<int> close_notifies_{0};
  std::string request_;
};

TEST_F(HealthProbeTlsTest, TcpCheckPassesAfterAVerifiedHandshakeAndClosesWithCloseNotify) {
  LoopbackServer server(tls_server(""));
  const std::unique_ptr<Probe> probe = make("tcp", server.address(), milliseconds(2000));
  probe->use_tls(client(backend_.cert), "pool app: backend test");
  for (int attempt = 1; attempt <= 3; ++attempt) {  // one probe, attempt after attempt
    const std::optional<CheckResult> verdict = run(*probe);
    ASSERT_TRUE(verdict);
    EXPECT_EQ(verdict->kind, ResultKind::kPass) << health::describe(*verdict);
  }
  // The server's side of each attempt ends when it reads the close_notify.
  for (int i = 0; i < 200 && close_notifies_ < 3; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(handshakes_, 3);
  EXPECT_EQ(close_notifies_, 3);
}

TEST_F(HealthProbeTlsTest, ACertificateFromAnotherCaFailsTheCheck) {
  LoopbackServer server(tls_server(""));
  const std::unique_ptr<Probe> probe = make("tcp", server.address(), milliseconds(2000));
  probe->use_tls(client(stranger_.cert), "pool app: backend test");
  const std::optional<CheckResult> verdict = run(*probe);
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kTlsFailed);
  EXPECT_EQ(verdict->error, EPROTO);
  EXPECT_EQ(handshakes_, 0);
}

TEST_F(HealthProbeTlsTest, VerifyFalseAcceptsAnyCertificate) {
  LoopbackServer server(tls_server(""));
  const std::unique_ptr<Probe> probe = make("tcp", server.address(), milliseconds(2000));
  probe->use_tls(client(stranger_.cert, /*verify=*/false), "pool app: backend test");
  const std::optional<CheckResult> verdict = run(*probe);
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kPass) << health::describe(*verdict);
}

TEST_F(HealthProbeTlsTest, HttpCheckSendsItsRequestOverTlsAndJudgesTheStatus) {
  LoopbackServer good(tls_server("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"));
  const std::unique_ptr<Probe> probe = make("http", good.address(), milliseconds(2000));
  probe->use_tls(client(backend_.cert), "pool app: backend test");
  std::optional<CheckResult> verdict = run(*probe);
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kPass) << health::describe(*verdict);
  EXPECT_EQ(verdict->status, 200);
  EXPECT_EQ(request_.rfind("GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:443\r\n", 0), 0u) << request_;

  LoopbackServer failing(tls_server("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"));
  const std::unique_ptr<Probe> second = make("http", failing.address(), milliseconds(2000));
  second->use_tls(client(backend_.cert), "pool app: backend test");
  verdict = run(*second);
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kBadStatus);
  EXPECT_EQ(verdict->status, 500);
}

TEST_F(HealthProbeTlsTest, AServerThatDoesNotSpeakTlsFailsTheCheck) {
  LoopbackServer plain([](int fd) {
    char buffer[1024];
    (void)recv(fd, buffer, sizeof(buffer), 0);
    const std::string_view answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    (void)send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
  });
  const std::unique_ptr<Probe> probe = make("http", plain.address(), milliseconds(2000));
  probe->use_tls(client(backend_.cert), "pool app: backend test");
  const std::optional<CheckResult> verdict = run(*probe);
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kTlsFailed);
  EXPECT_EQ(verdict->error, EPROTO);
}

TEST_F(HealthProbeTlsTest, AServerSilentAfterTheConnectTimesOut) {
  LoopbackServer silent([](int fd) {
    char buffer[1024];
    (void)recv(fd, buffer, sizeof(buffer), 0);  // the ClientHello; then nothing until the close
    (void)recv(fd, buffer, sizeof(buffer), 0);
  });
  const std::unique_ptr<Probe> probe = make("http", silent.address(), milliseconds(150));
  probe->use_tls(client(backend_.cert), "pool app: backend test");
  const auto started = health::Clock::now();
  const std::optional<CheckResult> verdict = run(*probe);
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, ResultKind::kResponseTimeout);
  EXPECT_LT(health::Clock::now() - started, milliseconds(1000));
}

}  // namespace
}  // namespace ringlb
