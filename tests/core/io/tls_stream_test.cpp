// Tests for core/io/tls_stream: the driver every TLS user shares. A send is handed out once and
// held until its completion, decrypting fills the caller's space and says why it stopped, and
// finish() reports a close_notify still waiting to go out. Two streams talk through memory, once
// through each kind of BIO (TlsChannel::Bios).
#include "core/io/tls_stream.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/io/tls_context.hpp"
#include "tests/core/test_certificates.hpp"

namespace ringlb {
namespace {

class TlsStreamTest : public ::testing::TestWithParam<TlsChannel::Bios> {
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
    server_ = std::make_unique<TlsChannel>(server_context_->initial(), TlsChannel::Role::kServer,
                                           "", false, GetParam());
    client_ = std::make_unique<TlsChannel>(client_context_->context(), TlsChannel::Role::kClient,
                                           "a.test", true, GetParam());
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

TEST_P(TlsStreamTest, ASendIsHandedOutOnceAndHeldUntilItCompletes) {
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

TEST_P(TlsStreamTest, DecryptFillsTheSpaceAndSaysWhyItStopped) {
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

TEST_P(TlsStreamTest, FinishQueuesCloseNotifyAndReportsItWaiting) {
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

TEST_P(TlsStreamTest, CiphertextInFlightStaysUnchangedWhileMoreIsEncrypted) {
  handshake();
  const std::string first_part(20000, 'a');
  const std::string second_part(70000, 'b');  // several records, more than the kept capacity
  client_->write(first_part);
  std::string_view in_flight;
  ASSERT_TRUE(client_.flush([&](std::string_view ciphertext) { in_flight = ciphertext; }));
  const std::string copy(in_flight);
  client_->write(second_part);  // encrypted while the kernel would still be reading in_flight
  EXPECT_EQ(in_flight, copy);
  ASSERT_TRUE(server_->feed(in_flight.data(), in_flight.size()));
  client_.on_sent(static_cast<int>(in_flight.size()));
  ASSERT_TRUE(deliver(client_, server_));
  EXPECT_TRUE(client_->flushed());
  std::string received(first_part.size() + second_part.size() + 1, '\0');
  size_t filled = 0;
  EXPECT_EQ(server_.decrypt(received, filled), TlsChannel::Status::kWantRead);
  EXPECT_EQ(received.substr(0, filled), first_part + second_part);
}

TEST_P(TlsStreamTest, RecordsFedOneByteAtATimeDecryptWhole) {
  handshake();
  const std::string message(20000, 'x');  // two records
  client_->write(message);
  std::string ciphertext;
  ASSERT_TRUE(client_.flush([&](std::string_view bytes) { ciphertext = bytes; }));
  std::string received;
  char space[32768];
  for (const char byte : ciphertext) {
    const char copy = byte;  // the fed byte's storage ends here, as a returned buffer's would
    ASSERT_TRUE(server_->feed(&copy, 1));
    size_t filled = 0;
    ASSERT_EQ(server_.decrypt(space, filled), TlsChannel::Status::kWantRead);
    received.append(space, filled);
  }
  EXPECT_EQ(received, message);
  EXPECT_FALSE(server_->input_pending());
}

TEST_P(TlsStreamTest, UndecryptedInputPastTheBoundIsRefused) {
  handshake();
  const std::string junk(TlsChannel::kMaxBufferedInput / 2, 'j');
  EXPECT_TRUE(server_->feed(junk.data(), junk.size()));  // nobody reads it yet
  EXPECT_TRUE(server_->feed(junk.data(), junk.size()));
  EXPECT_FALSE(server_->feed("j", 1));
  EXPECT_TRUE(server_->input_pending());
}

INSTANTIATE_TEST_SUITE_P(Bios, TlsStreamTest,
                         ::testing::Values(TlsChannel::Bios::kDirect, TlsChannel::Bios::kMemory),
                         [](const ::testing::TestParamInfo<TlsChannel::Bios>& param_info) {
                           return param_info.param == TlsChannel::Bios::kDirect ? "Direct"
                                                                                : "Memory";
                         });

}  // namespace
}  // namespace ringlb
