// Reads the bench-only RINGLB_LEVER_* variables once; see levers.hpp and bench/levers.
#include "core/levers.hpp"

#include <cstdlib>
#include <string_view>

namespace ringlb {
namespace {

std::string_view env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string_view() : std::string_view(value);
}

bool env_flag(const char* name) {
  const std::string_view value = env(name);
  return !value.empty() && value != "0";
}

void read_splice_levers(Tuning& result) {
  const std::string_view splice = env("RINGLB_LEVER_SPLICE");
  if (splice == "uring") result.splice = Tuning::Splice::kUring;
  if (splice == "sync") result.splice = Tuning::Splice::kSync;
  if (splice == "off" || splice == "0") result.splice = Tuning::Splice::kOff;
  if (const char* count = std::getenv("RINGLB_LEVER_SPLICE_PIPES")) {
    result.splice_pipes = static_cast<uint32_t>(std::strtoul(count, nullptr, 10));
  }
  if (const char* bytes = std::getenv("RINGLB_LEVER_SPLICE_PIPE_BYTES")) {
    const unsigned long value = std::strtoul(bytes, nullptr, 10);
    if (value >= 4096 && value <= (1ul << 20))
      result.splice_pipe_bytes = static_cast<uint32_t>(value);
  }
  const std::string_view l7 = env("RINGLB_LEVER_L7_SPLICE");
  if (!l7.empty()) result.l7_splice = l7 != "0";
  if (const char* bytes = std::getenv("RINGLB_LEVER_L7_SPLICE_MIN")) {
    result.l7_splice_min_bytes = static_cast<uint32_t>(std::strtoul(bytes, nullptr, 10));
  }
}

Tuning read_levers() {
  Tuning result;
  const std::string_view submit = env("RINGLB_LEVER_SUBMIT_EACH");
  if (submit == "completion") {
    result.submit = Tuning::Submit::kPerCompletion;
  } else if (!submit.empty() && submit != "0") {
    result.submit = Tuning::Submit::kPerOperation;
  }
  const std::string_view setup = env("RINGLB_LEVER_RING_SETUP");
  if (setup == "coop") result.ring_setup = Tuning::RingSetup::kCoopTaskrun;
  if (setup == "plain") result.ring_setup = Tuning::RingSetup::kPlain;
  result.register_ring_fd = env_flag("RINGLB_LEVER_REGISTER_RING_FD");
  result.receive_poll_first = env_flag("RINGLB_LEVER_RECV_POLL_FIRST");
  result.multishot_receive = env_flag("RINGLB_LEVER_MULTISHOT_RECV");
  result.tcp_nodelay = !env_flag("RINGLB_LEVER_NO_NODELAY");
  if (const char* bytes = std::getenv("RINGLB_LEVER_SOCKET_BUFFER")) {
    result.socket_buffer_bytes = std::atoi(bytes);
  }
  const std::string_view memory_bios = env("RINGLB_LEVER_TLS_MEMORY_BIOS");
  if (!memory_bios.empty()) result.tls_memory_bios = memory_bios != "0";
  result.tls_gather_plan = env_flag("RINGLB_LEVER_TLS_GATHER");
  result.two_in_flight = env_flag("RINGLB_LEVER_TWO_IN_FLIGHT");
  if (const char* bytes = std::getenv("RINGLB_LEVER_BIG_RECV")) {
    const long size = std::atol(bytes);
    if (size == 0) result.big_receive_bytes = 0;
    if (size > 16384 && size <= (1 << 20)) result.big_receive_bytes = static_cast<uint32_t>(size);
  }
  result.allocate_per_request = env_flag("RINGLB_LEVER_ALLOC_PER_REQUEST");
  if (const char* micros = std::getenv("RINGLB_LEVER_BUSY_POLL_US")) {
    result.busy_poll_us = std::atoi(micros);
  }
  if (const char* count = std::getenv("RINGLB_LEVER_RECEIVE_BUFFERS")) {
    const long buffers = std::atol(count);
    if (buffers > 0 && buffers <= 32768 && (buffers & (buffers - 1)) == 0) {
      result.receive_buffers = static_cast<uint32_t>(buffers);
    }
  }
  read_splice_levers(result);
  if (env("RINGLB_LEVER_HEAP_TRIM") == "0") {
    result.heap_trim_bytes = 0;
    result.heap_mmap_bytes = 0;
  }
  return result;
}

}  // namespace

const Tuning& tuning_from_levers() {
  static const Tuning kTuning = read_levers();
  return kTuning;
}

}  // namespace ringlb
