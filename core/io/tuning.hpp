// How the data path is tuned: plain values whose defaults are what production runs. The server
// builds one Tuning at start-up (core/levers.cpp, the one place that reads the bench-only
// RINGLB_LEVER_* variables) and hands it to the rings, the sockets and the workers, so the data
// path takes its choices as values and never reads the environment (docs/performance.md,
// "Levers").
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringlb {

struct Tuning {
  enum class Submit : uint8_t {
    kPerLoopTurn,    // default: one io_uring_enter submits the whole turn's operations
    kPerCompletion,  // RINGLB_LEVER_SUBMIT_EACH=completion
    kPerOperation,   // RINGLB_LEVER_SUBMIT_EACH=operation (or =1)
  };
  enum class RingSetup : uint8_t {
    kDeferTaskrun,  // default: SINGLE_ISSUER | DEFER_TASKRUN
    kCoopTaskrun,   // RINGLB_LEVER_RING_SETUP=coop: what kernels before 6.1 get
    kPlain,         // RINGLB_LEVER_RING_SETUP=plain: neither
  };

  Submit submit = Submit::kPerLoopTurn;
  RingSetup ring_setup = RingSetup::kDeferTaskrun;
  bool register_ring_fd = false;    // RINGLB_LEVER_REGISTER_RING_FD=1
  bool receive_poll_first = false;  // RINGLB_LEVER_RECV_POLL_FIRST=1
  // Client sockets get a single-shot receive armed each time. RINGLB_LEVER_MULTISHOT_RECV=1
  // (bench only) keeps one multishot receive armed on plain http client sockets instead; its
  // burst of arrivals before the cancel lands is bounded only by tcp_rmem (docs/performance.md).
  bool multishot_receive = false;
  bool tcp_nodelay = true;            // RINGLB_LEVER_NO_NODELAY=1 turns it off
  int socket_buffer_bytes = 0;        // RINGLB_LEVER_SOCKET_BUFFER=BYTES; 0: the kernel's
  bool allocate_per_request = false;  // RINGLB_LEVER_ALLOC_PER_REQUEST=1
  // RINGLB_LEVER_BUSY_POLL_US=N: a worker with nothing to do polls its ring for up to N µs
  // before it sleeps, so a packet arriving meanwhile needs no wake-up.
  int busy_poll_us = 0;
  // Test-only: RINGLB_LEVER_RECEIVE_BUFFERS=N (a power of two) gives each worker N provided
  // receive buffers instead of 512, so a test can run the buffer ring dry with a few
  // connections (tests/integration/test_faults_starvation.py). 0: the default.
  uint32_t receive_buffers = 0;
  // TLS connections read and write ciphertext through the direct BIOs (core/io/tls_direct_bio)
  // unless RINGLB_LEVER_TLS_MEMORY_BIOS=1, which gives them two BIO_s_mem as before (on the
  // sending side one more copy and a zero-fill of every byte).
  bool tls_memory_bios = false;
  // A send plan toward a TLS peer is encrypted piece by piece, large pieces where they lie;
  // RINGLB_LEVER_TLS_GATHER=1 copies the whole plan into one string first, as before.
  bool tls_gather_plan = false;
  // L4 tunnels between plain sockets: the next receive is armed as soon as a filled buffer is
  // handed to its send, so a direction holds up to two provided buffers, and a send after a
  // short one gathers both (SENDMSG). RINGLB_LEVER_TWO_IN_FLIGHT=1 (docs/perf2-plan.md, 2.1).
  bool two_in_flight = false;
  // Adaptive receives: a second buffer group of 64 buffers of this size per worker, which a
  // plain L4 or HTTP/1.1 socket receives into after a receive that filled its 16 KiB buffer,
  // and leaves after one that did not (docs/perf2-plan.md, 2.2). RINGLB_LEVER_BIG_RECV=0 turns
  // it off, =BYTES (16 KiB < BYTES <= 1 MiB) sets the size.
  uint32_t big_receive_bytes = 64 * 1024;
  // L4 tunnels (plain TCP on both sides) that keep filling their receive buffers move their
  // bytes by splice(2) through a pipe lent from the worker's pool (core/io/pipe_pool.hpp,
  // core/proxy/tcp_splice.cpp). Default kSync: splice(2) from the worker once a ring poll says
  // ready (0.42x the CPU per MiB of copying, docs/performance.md "Splice");
  // RINGLB_LEVER_SPLICE=uring: IORING_OP_SPLICE, which the kernel runs on an io-wq thread
  // (0.83x); =off: copy through user space.
  enum class Splice : uint8_t { kOff, kUring, kSync };
  Splice splice = Splice::kSync;
  uint32_t splice_pipes = 64;           // RINGLB_LEVER_SPLICE_PIPES=N: per worker, at most
  uint32_t splice_pipe_bytes = 262144;  // RINGLB_LEVER_SPLICE_PIPE_BYTES=N: F_SETPIPE_SZ
  // malloc's trim and mmap thresholds, fixed at start (core/base/heap.hpp): freed memory stays
  // in the arenas up to heap_trim_bytes, and allocations under heap_mmap_bytes come from them.
  // RINGLB_LEVER_HEAP_TRIM=0 leaves both to glibc (dynamic thresholds, 128 KiB at first).
  size_t heap_trim_bytes = size_t{16} << 20;
  size_t heap_mmap_bytes = size_t{1} << 20;
  // Plain HTTP/1.1 requests and responses framed by Content-Length: once the head has gone out,
  // a body with at least l7_splice_min_bytes left moves through a pipe from the same pool,
  // exactly its length (core/proxy/http_session_splice.cpp), the same way `splice` says (sync
  // or uring; off turns this off too). RINGLB_LEVER_L7_SPLICE=0|1,
  // RINGLB_LEVER_L7_SPLICE_MIN=BYTES.
  bool l7_splice = false;
  uint32_t l7_splice_min_bytes = 65536;
};

}  // namespace ringlb
