// Lingering close (RFC 9112 §9.6), shared by the HTTP/1.1 and HTTP/2 client connections: once
// the last response byte has been sent and the write side shut, what the client still sends is
// read and thrown away until it closes, or is silent for kQuiet with every byte it was sent
// acknowledged, kMax at most. Closing with unread bytes in the socket makes the kernel answer
// with a TCP reset, which throws away the end of the response the client has not read yet.
// nginx's lingering_timeout is 5 s and lingering_time 30 s; an HTTP client that got its whole
// response closes at once, so a shorter quiet time frees the connection sooner.
#pragma once

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <chrono>

#include "core/io/timer_wheel.hpp"

namespace ringlb {

class Linger {
 public:
  static constexpr auto kQuiet = std::chrono::seconds(1);
  static constexpr auto kMax = std::chrono::seconds(30);
  using TimePoint = TimerWheel::Clock::time_point;

  bool active() const { return cause_ != nullptr; }
  const char* cause() const { return cause_; }
  TimePoint until() const { return until_; }

  // The linger begins at `now`; the session ends with `cause` when it is over.
  void begin(const char* cause, TimePoint now) {
    cause_ = cause;
    until_ = now + kQuiet;
    cap_ = now + kMax;
  }
  // The client sent something: it is still there, and reading.
  void heard(TimePoint now) { until_ = std::min(now + kQuiet, cap_); }
  // until() passed: true when the linger goes on, because bytes sent on `fd` are still not
  // acknowledged (a slow reader's receive window) and the cap is not reached. A close now would
  // turn the client's next acknowledgement into a reset that throws them away.
  bool still_unread(int fd, TimePoint now) {
    int unacknowledged = 0;
    if (now >= cap_ || ioctl(fd, SIOCOUTQ, &unacknowledged) != 0 || unacknowledged <= 0) {
      return false;
    }
    until_ = std::min(now + kQuiet, cap_);
    return true;
  }

 private:
  const char* cause_ = nullptr;
  TimePoint until_{};
  TimePoint cap_{};
};

}  // namespace ringlb
