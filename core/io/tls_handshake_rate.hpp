// The worker's share of runtime.max_tls_handshakes_per_second (HAProxy's maxsslrate): a token
// bucket holding one second's worth. A full handshake costs the server a signature (RSA-2048:
// about a millisecond of CPU), so a flood of ClientHellos that never finish would otherwise take
// every core and make each real handshake wait behind thousands. Over the limit, a handshake is
// refused at its first byte, before OpenSSL sees it: that costs a close, not a signature, and
// keeps the loop free for the handshakes that fit. Worker thread only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "core/io/timer_wheel.hpp"

namespace ringlb {

class TlsHandshakeRate {
 public:
  // True when a client's handshake may start at `now`. `per_second_total`: the configured limit
  // over all workers (0 = none), shared evenly by `workers`.
  bool try_start(TimerWheel::Clock::time_point now, uint64_t per_second_total, uint32_t workers) {
    if (per_second_total == 0) return true;
    const uint64_t share = (per_second_total + workers - 1) / std::max<uint32_t>(workers, 1);
    const double rate = static_cast<double>(share);
    if (!started_) {
      started_ = true;
      tokens_ = rate;
    } else {
      const std::chrono::duration<double> elapsed = now - last_;
      tokens_ = std::min(rate, tokens_ + rate * std::max(elapsed.count(), 0.0));
    }
    last_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  TimerWheel::Clock::time_point last_{};
  double tokens_ = 0;
  bool started_ = false;
};

}  // namespace ringlb
