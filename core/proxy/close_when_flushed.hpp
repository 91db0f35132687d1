// A session's close that waits for its last TLS bytes (a close_notify, a handshake's alert) to
// reach the peer. The session's timer closes it anyway after TlsStream::kCloseNotifyTimeout, so
// a peer that reads nothing cannot hold the connection open. The tcp and http sessions alike
// close with cause() once their channel is flushed, or when the timer fires while armed().
#pragma once

#include "core/io/timer_wheel.hpp"
#include "core/io/tls_stream.hpp"

namespace ringlb {

class CloseWhenFlushed {
 public:
  // Waits to close with `cause`: schedules the session's `timer` for the timeout from `now`.
  void arm(const char* cause, TimerWheel& timers, TimerNode& timer,
           TimerWheel::Clock::time_point now) {
    cause_ = cause;
    timers.schedule(timer, now + TlsStream::kCloseNotifyTimeout);
  }
  bool armed() const { return cause_ != nullptr; }
  const char* cause() const { return cause_; }

 private:
  const char* cause_ = nullptr;
};

}  // namespace ringlb
