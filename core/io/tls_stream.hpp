// One TLS connection driven over a ring: the TlsChannel it owns, and what every driver of one
// does alike (the proxy's tcp and http sessions, the health probes). It hands the ciphertext
// waiting in the channel to a send, accounts for that send's completion, decrypts into the
// caller's space, and ends the connection with close_notify. What the plaintext is for, how a
// send is submitted and tagged, and what a failure means stay with the caller: it passes
// callables (templates, so nothing is allocated per call). One thread only, like the channel.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "core/io/tls_channel.hpp"

namespace ringlb {

class TlsStream {
 public:
  using Status = TlsChannel::Status;
  // How long a closing connection waits for its close_notify (or last alert) to go out before it
  // closes anyway: a peer that reads nothing must not hold the connection open.
  static constexpr auto kCloseNotifyTimeout = std::chrono::seconds(1);
  // Unsent ciphertext above which the socket is not read (may_receive). Four full records: above
  // what one of ringlb's own writes leaves queued on a tcp listener (one 16 KiB buffer's
  // records), so only a peer that does not read meets it; a larger http send plan just waits for
  // its reader as a plain one would. Like kMaxBufferedInput, a per-connection bound.
  static constexpr size_t kMaxUnsent = size_t{64} * 1024;

  TlsStream() = default;
  // Implicit: a channel made for a new connection, or one an idle pooled connection kept.
  TlsStream(std::unique_ptr<TlsChannel> channel) : channel_(std::move(channel)) {}  // NOLINT

  // A stream is null on a plain socket; then none of the calls below may be made.
  explicit operator bool() const { return channel_ != nullptr; }
  TlsChannel* operator->() const { return channel_.get(); }
  TlsChannel& operator*() const { return *channel_; }
  TlsChannel* get() const { return channel_.get(); }
  // Frees the channel; no send of it may be in flight (its buffer is what the kernel reads).
  void reset() { channel_.reset(); }

  // Submits the ciphertext waiting in the channel, unless a send of it is already in flight.
  // The bytes passed to `submit_send` stay valid and unchanged until on_sent(). Returns whether
  // it submitted.
  template <typename SubmitSend>
  bool flush(SubmitSend&& submit_send) {
    if (channel_->sending()) return false;
    const std::string_view ciphertext = channel_->next_send();
    if (ciphertext.empty()) return false;
    std::forward<SubmitSend>(submit_send)(ciphertext);
    return true;
  }
  // The send flush() submitted completed with `result` (bytes, or -errno: nothing was sent).
  void on_sent(int result) { channel_->on_sent(result > 0 ? static_cast<size_t>(result) : 0); }
  // Drops the ciphertext waiting in the channel, as if sent: for output after close_notify on a
  // socket whose write side is shut (a KeyUpdate reply), which has nowhere to go. A send already
  // in flight is left to complete (flush() refuses meanwhile): call again after it.
  void discard_unsent() {
    while (
        flush([&](std::string_view ciphertext) { on_sent(static_cast<int>(ciphertext.size())); })) {
    }
  }

  // Whether the owner may arm a receive on the socket now: not while more than kMaxUnsent
  // ciphertext waits to go out. Reading makes OpenSSL write on its own (a KeyUpdate answers a
  // KeyUpdate request), so a peer that sends and never reads would otherwise grow the queue
  // without bound; this is the backpressure a plain socket's slow reader gets. A refusal is
  // remembered for receive_resumable().
  bool may_receive() {
    receive_withheld_ = channel_->unsent() > kMaxUnsent;
    return !receive_withheld_;
  }
  // After on_sent(): true, once, when a receive may_receive() refused may be armed now.
  bool receive_resumable() {
    if (!receive_withheld_ || channel_->unsent() > kMaxUnsent) return false;
    receive_withheld_ = false;
    return true;
  }

  // Decrypts into `space` until it is full or the channel holds no more plaintext; `filled`
  // says how many bytes. kOk when `space` filled up first (more may be waiting), else why it
  // stopped: kWantRead (receive more ciphertext), kClosed (close_notify), kFailed.
  Status decrypt(std::span<char> space, size_t& filled);

  // Ends the connection's output: queues close_notify when `close_notify` (once established;
  // else only what is already encrypted, an alert or the last response bytes, goes out), then
  // calls the owner's `flush()` (which calls flush() above unless the socket is gone). True while
  // ciphertext still waits to go out: the owner closes once on_sent() leaves the channel
  // flushed(), or after kCloseNotifyTimeout.
  template <typename Flush>
  bool finish(bool close_notify, Flush&& flush) {
    if (close_notify) channel_->shutdown();
    std::forward<Flush>(flush)();
    return !channel_->flushed();
  }

 private:
  std::unique_ptr<TlsChannel> channel_;
  bool receive_withheld_ = false;
};

}  // namespace ringlb
