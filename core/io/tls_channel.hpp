// One TLS connection driven through memory: the session feeds it the ciphertext its ring
// received and sends the ciphertext it produces through the same ring, so OpenSSL never touches
// a socket and never blocks. SSL_ERROR_WANT_READ means "arm a receive"; output is always
// accepted (the queue grows) and waits in the channel until the ring sends it. OpenSSL reads
// and writes through the direct BIOs (tls_direct_bio.hpp), or through two BIO_s_mem when the
// bench asks for them (Bios::kMemory: one more copy of every byte each way).
//
// Sending: next_send() hands out the ciphertext to send; it stays valid and unchanged until
// on_sent() reports the send's completion, whatever is encrypted meanwhile. One send at a time.
// Worker thread only.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/io/tls_direct_bio.hpp"

namespace ringlb {

class TlsChannel {
 public:
  enum class Role { kServer, kClient };
  enum class Status {
    kOk,        // done, or bytes were read
    kWantRead,  // needs more ciphertext from the peer
    kClosed,    // the peer sent close_notify
    kFailed,    // a protocol error; failure() says which
  };
  // What OpenSSL reads and writes through (Tuning::tls_memory_bios picks kMemory).
  enum class Bios { kDirect, kMemory };
  // Undecrypted ciphertext a channel holds at most: a session decrypts all it can after each
  // receive, so only a partial record (16 KiB + overhead) and one receive buffer wait at a time.
  static constexpr size_t kMaxBufferedInput = size_t{256} * 1024;

  // kClient: `server_name` is sent as SNI and, when `verify_name`, checked against the
  // certificate. Check valid() afterwards.
  TlsChannel(SSL_CTX* context, Role role, const std::string& server_name = "",
             bool verify_name = false, Bios bios = Bios::kDirect);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  bool valid() const { return ssl_ != nullptr; }
  bool established() const { return established_; }
  // The handshake resumed a session (a ticket) instead of a full key exchange and signature.
  bool resumed() const;

  // Ciphertext from the peer (copied). False when the channel refuses it: more than
  // kMaxBufferedInput would wait undecrypted, which a peer that keeps sending after its
  // close_notify (OpenSSL reads nothing more then) or a stalled reader would cause; the caller
  // closes the connection. Bytes after the peer's close_notify are dropped: its data has ended.
  bool feed(const char* data, size_t length);
  // The peer sent close_notify: the end of its data, as a FIN is (RFC 8446 §6.1). Receive no more.
  bool peer_closed() const { return peer_closed_; }
  // Ciphertext bytes fed so far; 0 before the peer's first byte.
  uint64_t fed() const { return fed_total_; }
  // Advances the handshake; kOk once it is complete.
  Status handshake();
  // Decrypts up to `capacity` bytes into `out`; `length` says how many. kOk when some were read.
  Status read(char* out, size_t capacity, size_t& length);
  // Encrypts all of `plaintext`; only once established().
  void write(std::string_view plaintext);
  // Queues close_notify (once; only once established()).
  void shutdown();

  // The ciphertext to send next (empty when none); marks a send in flight.
  std::string_view next_send();
  // The send handed out by next_send() completed with `sent` bytes (fewer = send the rest).
  void on_sent(size_t sent);
  bool sending() const { return sending_; }
  // Nothing waits to be sent and no send is in flight.
  bool flushed() const;
  // Ciphertext fed but not yet decrypted (a partial record), or plaintext not yet read.
  bool input_pending() const;
  // Ciphertext bytes produced so far / handed to the kernel so far.
  uint64_t produced() const;
  uint64_t sent_total() const { return sent_total_; }
  // Ciphertext produced and not yet handed to the kernel: queued, or in the send in flight.
  uint64_t unsent() const { return produced() - sent_total_; }

  // Why the last kFailed happened, for a debug log line ("http request", "wrong version number",
  // "certificate verify failed: ...").
  const std::string& failure() const { return failure_; }
  // True when the peer's first bytes were a plain HTTP request.
  bool plain_http() const { return plain_http_; }
  // The negotiated ALPN protocol, or empty.
  std::string_view alpn() const;

 private:
  Status status_of(int result);

  bool make_bios(Bios bios);
  void take_memory_output();

  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // ciphertext from the peer, read by OpenSSL
  BIO* out_ = nullptr;  // ciphertext for the peer, written by OpenSSL
  bool direct_ = false;
  DirectInput input_;           // what in_ reads, when direct_
  std::string queued_;          // what out_ wrote and no send has taken yet, when direct_
  std::string sending_buffer_;  // what the send in flight reads; untouched until on_sent()
  size_t sending_offset_ = 0;
  uint64_t fed_total_ = 0;
  uint64_t sent_total_ = 0;
  bool sending_ = false;
  bool established_ = false;
  bool shut_ = false;
  bool peer_closed_ = false;
  bool plain_http_ = false;
  std::string failure_;
};

}  // namespace ringlb
