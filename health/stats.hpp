// Counters that one worker writes and the admin API sums at scrape time (docs/architecture.md: no
// shared atomics on the hot path). Each worker owns a cache-line aligned slot; a slot has one
// writer, so an add is a relaxed load and store (no locked instruction), and readers see whole
// values.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace ringlb::health {

class Counter {
 public:
  // The slot's own worker only.
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // For gauges kept as two-way counts (active connections): wraps, summed as signed.
  void sub(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Latency buckets shared by every histogram, in microseconds: 0.5 ms to 10 s, roughly ×2.5.
inline constexpr std::array<uint64_t, 14> kLatencyBoundsUs = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = kLatencyBoundsUs.size() + 1;  // the last is +Inf

  void observe(std::chrono::microseconds duration) {
    const auto us = static_cast<uint64_t>(duration.count() < 0 ? 0 : duration.count());
    size_t bucket = 0;
    while (bucket < kLatencyBoundsUs.size() && us > kLatencyBoundsUs[bucket]) ++bucket;
    buckets_[bucket].add();
    sum_us_.add(us);
  }
  uint64_t bucket(size_t index) const { return buckets_[index].get(); }  // not cumulative
  uint64_t sum_us() const { return sum_us_.get(); }

 private:
  std::array<Counter, kBuckets> buckets_;
  Counter sum_us_;
};

// Responses by class: index status / 100 - 1 (1xx..5xx).
inline constexpr size_t kStatusClasses = 5;
inline size_t status_class_index(unsigned status) {
  return status >= 100 && status < 600 ? status / 100 - 1 : kStatusClasses - 1;
}

// What one worker saw of one backend.
struct alignas(64) BackendWorkerStats {
  Counter requests;  // http requests sent (L4: connections made)
  std::array<Counter, kStatusClasses> responses;
  // Named by the client's side, as the listener's are: "sent" in the backend's metric names.
  Counter bytes_from_client;  // from clients, toward the backend
  Counter bytes_to_client;    // from the backend, toward clients
  Counter connect_failures;
  Counter pooled_discarded;  // idle pooled connections the backend closed or wrote on (http)
  LatencyHistogram connect_time;
  LatencyHistogram response_head_time;
};

// Why a listener with proxy_protocol = true closed a connection before its header was accepted:
// a source outside proxy_protocol_from, a header that is not one (or the peer closed first), no
// complete header within the handshake timeout. Named in /metrics and /status by these words.
enum class ProxyRefusal : uint8_t { kUntrusted, kInvalid, kTimeout };
inline constexpr std::array<const char*, 3> kProxyRefusalNames = {"untrusted", "invalid",
                                                                  "timeout"};

// What one worker saw on one listener.
struct alignas(64) ListenerWorkerStats {
  Counter accepted;
  Counter active_up;  // sessions started; active = active_up - active_down
  Counter active_down;
  Counter requests;
  std::array<Counter, kStatusClasses> responses;
  Counter bytes_from_client;  // exported as bytes_in and ringlb_received_bytes_total
  Counter bytes_to_client;    // exported as bytes_out and ringlb_sent_bytes_total
  Counter bytes_spliced;      // of both: moved by splice through a pipe (splice_pump.hpp)
  Counter retries;            // another backend tried after a failed connect, or a stale pooled one
  Counter tls_handshake_failures;
  std::array<Counter, kProxyRefusalNames.size()> proxy_protocol_refused;  // by ProxyRefusal
  // HTTP/2 (issue 18): connections that chose h2 (by ALPN or the h2c preface), open ones
  // (h2_active_up - h2_active_down), streams opened, and why streams or connections ended early.
  // Each h2 stream is also one of `requests` above.
  Counter h2_connections;
  Counter h2_active_up;
  Counter h2_active_down;
  Counter h2_streams;
  Counter h2_streams_reset_by_client;  // RST_STREAM from the client on a stream with a request
  Counter h2_streams_refused;          // over max_concurrent_streams (backend work still ending)
  Counter h2_goaway_drain;             // GOAWAY NO_ERROR: stop, reload, drain
  Counter h2_goaway_flood;             // GOAWAY ENHANCE_YOUR_CALM: a flood limit was hit
  Counter h2_goaway_protocol;          // the connection ended on a protocol error
  LatencyHistogram request_duration;
};

// One slot per worker, fixed at construction (the worker count changes only on restart).
template <typename Slot>
class PerWorker {
 public:
  explicit PerWorker(uint32_t workers) : count_(workers == 0 ? 1 : workers) {
    slots_ = std::make_unique<Slot[]>(count_);
  }
  Slot& at(uint32_t worker) { return slots_[worker < count_ ? worker : 0]; }
  const Slot& at(uint32_t worker) const { return slots_[worker < count_ ? worker : 0]; }
  uint32_t size() const { return count_; }

  // Sums `field` of every slot: the scrape-time read.
  template <typename Field>
  uint64_t sum(Field field) const {
    uint64_t total = 0;
    for (uint32_t i = 0; i < count_; ++i) total += field(slots_[i]);
    return total;
  }

 private:
  uint32_t count_;
  std::unique_ptr<Slot[]> slots_;
};

using ListenerStats = PerWorker<ListenerWorkerStats>;

// Connections open now: opened minus closed, summed over the workers. A connection's close is
// counted after its open, so the closes are read first; a scrape that still races a worker (or a
// weakly ordered CPU) could see more closes than opens, and gets 0 rather than a wrapped count.
inline uint64_t active_connections(const ListenerStats& stats) {
  const uint64_t down = stats.sum([](const ListenerWorkerStats& s) { return s.active_down.get(); });
  const uint64_t up = stats.sum([](const ListenerWorkerStats& s) { return s.active_up.get(); });
  return up > down ? up - down : 0;
}

}  // namespace ringlb::health
