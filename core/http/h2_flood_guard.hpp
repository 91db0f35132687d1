// Per-connection counters of the frames a client can send for free (issue 18 item 6): each counts
// in fixed one-second windows of the caller's clock, so tests drive time and nothing reads a clock
// here. Over a limit the connection is told to calm down (GOAWAY ENHANCE_YOUR_CALM).
#pragma once

#include <cstdint>

namespace ringlb::http {

class FrameRate {
 public:
  // One more frame at now_ms; false once more than `limit` came in the current second.
  bool admit(uint64_t now_ms, uint32_t limit) {
    if (now_ms < window_start_ms_ || now_ms - window_start_ms_ >= 1000) {
      window_start_ms_ = now_ms;
      count_ = 0;
    }
    return ++count_ <= limit;
  }

 private:
  uint64_t window_start_ms_ = 0;
  uint32_t count_ = 0;
};

struct FloodGuard {
  FrameRate resets, settings, pings, empty_data;
  uint64_t now_ms = 0;           // of the receive() in progress
  const char* reason = nullptr;  // why the connection was told to calm down, once it was
};

}  // namespace ringlb::http
