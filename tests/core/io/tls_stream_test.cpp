// Tests for core/io/tls_stream: the driver every TLS user shares. A send is handed out once and
// held until its completion, decrypting fills the caller's space and says why it stopped, and
// finish() reports a close_notify still waiting to go out. Two streams talk through memory.
#include "core/io/tls_stream.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/io/tls_context.hpp"
#include "tests/core/test_certificates.hpp"

namespace ringlb {
namespace {

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ringlb-tls-stream-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    config::ListenerTls tls;
    const config::TlsCertificate certificate =
        test_support::make_test_certificate(dir_, "a", "DNS:a.test", 1);
    tls.certificates = {certificate};
    std::string error;
    server_context_ = TlsServerContext::build(tls, error);
    client_context_ = TlsClientContext::build(
        {true, certificate.cert, "a.test", test_support::read_pem(certificate.cert)}, error);
    ASSERT_TRUE(server_context_ && client_context_) << error;
    server_ = std::make_unique<TlsChannel>(server_context_->initial(), TlsChannel::Role::kServer);
    client_ = std::make_unique<TlsChannel>(client_context_->context(), TlsChannel::Role::kClient,
                                           "a.test", true);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Sends what `from` holds, as a ring would: the bytes handed out arrive whole.
  static bool deliver(TlsStream& from, TlsStream& to) {
    std::string sent;
    if (!from.flush([&](std::string_view ciphertext) { sent = ciphertext; })) return false;
    EXPECT_TRUE(to->feed(sent.data(), sent.size()));
    from.on_sent(static_cast<int>(sent.size()));
    return true;
  }

  void handshake() {
    for (int round = 0; round < 10 && !(client_->established() && server_->established());
         ++round) {
      client_->handshake();
      deliver(client_, server_);
      server_->handshake();
      deliver(server_, client_);
    }
    client_->handshake();
    ASSERT_TRUE(client_->established() && server_->established()) << client_->failure();
  }

  std::string dir_;
  std::shared_ptr<const TlsServerContext> server_context_;
  std::shared_ptr<const TlsClientContext> client_context_;
  TlsStream server_;
  TlsStream client_;
};

TEST_F(TlsStreamTest, ASendIsHandedOutOnceAndHeldUntilItCompletes) {
  ASSERT_EQ(client_->handshake(), TlsChannel::Status::kWantRead);
  int submitted = 0;
  std::string_view first;
  EXPECT_TRUE(client_.flush([&](std::string_view ciphertext) {
    ++submitted;
    first = ciphertext;
  }));
  EXPECT_FALSE(client_.flush([&](std::string_view) { ++submitted; }));  // one send at a time
  EXPECT_EQ(submitted, 1);
  client_.on_sent(-104);  // a failed send moved nothing: the same bytes go again
  EXPECT_TRUE(client_.flush([&](std::string_view ciphertext) { EXPECT_EQ(ciphertext, first); }));
  client_.on_sent(static_cast<int>(first.size()));
  EXPECT_TRUE(client_->flushed());
  EXPECT_FALSE(client_.flush([&](std::string_view) { ++submitted; }));
}

TEST_F(TlsStreamTest, DecryptFillsTheSpaceAndSaysWhyItStopped) {
  handshake();
  client_->write("0123456789");
  ASSERT_TRUE(deliver(client_, server_));
  char space[4];
  size_t filled = 0;
  EXPECT_EQ(server_.decrypt(space, filled), TlsChannel::Status::kOk);  // full: more may wait
  EXPECT_EQ(std::string_view(space, filled), "0123");
  char rest[64];
  EXPECT_EQ(server_.decrypt(rest, filled), TlsChannel::Status::kWantRead);
  EXPECT_EQ(std::string_view(rest, filled), "456789");
}

TEST_F(TlsStreamTest, FinishQueuesCloseNotifyAndReportsItWaiting) {
  handshake();
  std::string in_flight;
  EXPECT_TRUE(client_.finish(
      true, [&] { client_.flush([&](std::string_view ciphertext) { in_flight = ciphertext; }); }));
  EXPECT_FALSE(client_->flushed());
  ASSERT_TRUE(server_->feed(in_flight.data(), in_flight.size()));
  client_.on_sent(static_cast<int>(in_flight.size()));
  EXPECT_TRUE(client_->flushed());
  char space[16];
  size_t filled = 0;
  EXPECT_EQ(server_.decrypt(space, filled), TlsChannel::Status::kClosed);
  EXPECT_TRUE(server_->peer_closed());
  EXPECT_FALSE(server_.finish(false, [] {}));  // nothing encrypted: nothing waits
}

}  // namespace
}  // namespace ringlb
