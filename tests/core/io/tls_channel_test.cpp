// Tests for core/io/tls_context and core/io/tls_channel: a server and a client channel complete a
// handshake and carry data through memory alone (no socket), SNI picks the certificate by its
// names, and a plain HTTP request is recognised. Certificates are made with OpenSSL
// (tests/core/test_certificates.hpp).
#include "core/io/tls_channel.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/io/tls_context.hpp"
#include "tests/core/test_certificates.hpp"

namespace ringlb {
namespace {

class TlsChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ringlb-tls-channel-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A self-signed certificate for `names` (subjectAltName DNS entries) with its key.
  config::TlsCertificate make_certificate(const std::string& file, const std::string& names) {
    return test_support::make_test_certificate(dir_, file, names, ++serial_);
  }

  // Moves ciphertext both ways until neither side has anything left to send.
  static void exchange(TlsChannel& a, TlsChannel& b) {
    for (int round = 0; round < 20; ++round) {
      bool moved = false;
      for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        std::string_view bytes = from->next_send();
        if (bytes.empty()) continue;
        to->feed(bytes.data(), bytes.size());
        from->on_sent(bytes.size());
        moved = true;
      }
      if (a.handshake() == TlsChannel::Status::kFailed) return;
      if (b.handshake() == TlsChannel::Status::kFailed) return;
      if (!moved && a.established() && b.established()) return;
    }
  }

  std::shared_ptr<const TlsServerContext> server(const config::ListenerTls& tls) {
    std::string error;
    auto context = TlsServerContext::build(tls, error);
    EXPECT_TRUE(context) << error;
    return context;
  }

  std::shared_ptr<const TlsClientContext> client(const std::string& ca, const std::string& sni) {
    std::string error;
    auto context = TlsClientContext::build({true, ca, sni, test_support::read_pem(ca)}, error);
    EXPECT_TRUE(context) << error;
    return context;
  }

  std::string dir_;
  long serial_ = 0;
};

TEST_F(TlsChannelTest, SniFindsExactNamesThenOneLabelWildcards) {
  config::ListenerTls tls;
  tls.certificates = {make_certificate("a", "DNS:a.test"),
                      make_certificate("b", "DNS:b.test,DNS:alt.b.test"),
                      make_certificate("w", "DNS:*.w.test")};
  auto context = server(tls);
  ASSERT_TRUE(context);
  SSL_CTX* a = context->initial();
  SSL_CTX* b = context->find("b.test");
  SSL_CTX* w = context->find("x.w.test");
  ASSERT_NE(b, nullptr);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(context->find("a.test"), a);
  EXPECT_EQ(context->find("ALT.B.Test"), b);
  EXPECT_NE(a, b);
  EXPECT_NE(b, w);
  EXPECT_EQ(context->find("w.test"), nullptr);
  EXPECT_EQ(context->find("a.b.w.test"), nullptr);
  EXPECT_EQ(context->find("unknown.test"), nullptr);
  EXPECT_TRUE(context->same_as(tls));
}

TEST_F(TlsChannelTest, AHandshakeAndDataCrossThroughMemoryWithTheCertificateSniAsked) {
  config::ListenerTls tls;
  const config::TlsCertificate a = make_certificate("a", "DNS:a.test");
  const config::TlsCertificate b = make_certificate("b", "DNS:b.test");
  tls.certificates = {a, b};
  auto server_context = server(tls);
  // Verification against b's own certificate succeeds only if the server presents it.
  auto client_context = client(b.cert, "b.test");
  ASSERT_TRUE(server_context && client_context);
  TlsChannel server_side(server_context->initial(), TlsChannel::Role::kServer);
  TlsChannel client_side(client_context->context(), TlsChannel::Role::kClient, "b.test", true);
  ASSERT_TRUE(server_side.valid() && client_side.valid());
  exchange(client_side, server_side);
  ASSERT_TRUE(client_side.established()) << client_side.failure();
  ASSERT_TRUE(server_side.established()) << server_side.failure();

  client_side.write("GET / HTTP/1.1\r\n\r\n");
  std::string_view bytes = client_side.next_send();
  server_side.feed(bytes.data(), bytes.size());
  client_side.on_sent(bytes.size());
  EXPECT_TRUE(client_side.flushed());
  char plaintext[64];
  size_t length = 0;
  ASSERT_EQ(server_side.read(plaintext, sizeof(plaintext), length), TlsChannel::Status::kOk);
  EXPECT_EQ(std::string_view(plaintext, length), "GET / HTTP/1.1\r\n\r\n");

  server_side.shutdown();
  bytes = server_side.next_send();
  client_side.feed(bytes.data(), bytes.size());
  server_side.on_sent(bytes.size());
  // The session ticket, then close_notify.
  TlsChannel::Status status = TlsChannel::Status::kOk;
  while (status == TlsChannel::Status::kOk) status = client_side.read(plaintext, 64, length);
  EXPECT_EQ(status, TlsChannel::Status::kClosed);
}

TEST_F(TlsChannelTest, TheWrongCertificateFailsVerification) {
  config::ListenerTls tls;
  tls.certificates = {make_certificate("a", "DNS:a.test")};
  const config::TlsCertificate b = make_certificate("b", "DNS:b.test");
  auto server_context = server(tls);
  auto client_context = client(b.cert, "a.test");
  TlsChannel server_side(server_context->initial(), TlsChannel::Role::kServer);
  TlsChannel client_side(client_context->context(), TlsChannel::Role::kClient, "a.test", true);
  exchange(client_side, server_side);
  EXPECT_FALSE(client_side.established());
  EXPECT_NE(client_side.failure().find("certificate verify failed"), std::string::npos)
      << client_side.failure();
}

TEST_F(TlsChannelTest, APlainHttpRequestIsRecognised) {
  config::ListenerTls tls;
  tls.certificates = {make_certificate("a", "DNS:a.test")};
  auto context = server(tls);
  TlsChannel server_side(context->initial(), TlsChannel::Role::kServer);
  const std::string request = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
  server_side.feed(request.data(), request.size());
  EXPECT_EQ(server_side.handshake(), TlsChannel::Status::kFailed);
  EXPECT_TRUE(server_side.plain_http());
  EXPECT_EQ(server_side.failure(), "http request");
}

TEST_F(TlsChannelTest, AKeyThatDoesNotMatchFailsTheBuild) {
  config::TlsCertificate a = make_certificate("a", "DNS:a.test");
  const config::TlsCertificate b = make_certificate("b", "DNS:b.test");
  a.key = b.key;
  a.key_pem = b.key_pem;
  config::ListenerTls tls;
  tls.certificates = {a};
  std::string error;
  EXPECT_FALSE(TlsServerContext::build(tls, error));
  EXPECT_TRUE(error.starts_with("private key " + a.key)) << error;
}

}  // namespace
}  // namespace ringlb
