// What a worker lends its sessions: the ring, the buffers, the timers, the clock of this loop
// turn. Lives as long as the worker; used only on the worker's thread.
#pragma once

#include <cstdint>
#include <vector>

#include "core/access_log.hpp"
#include "core/op_tag.hpp"
#include "core/ring.hpp"
#include "core/timer_wheel.hpp"

namespace ringlb {

struct WorkerContext {
  Ring& ring;
  BufferRing& buffers;
  TimerWheel& timers;
  AccessLog& access_log;
  uint32_t worker_id = 0;
  TimerWheel::Clock::time_point now;  // read once per loop turn
  // Receives that found the buffer ring empty (-ENOBUFS); the worker re-arms them next turn.
  std::vector<OpTag> starved;
};

}  // namespace ringlb
