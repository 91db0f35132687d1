// What a completion is for, packed into the 64-bit user_data: the operation kind, a slot and the
// slot's generation. A completion whose generation no longer matches its slot is stale and is
// dropped, never dereferenced (docs/architecture.md, "The io_uring rules").
#pragma once

#include <cstdint>

namespace ringlb {

enum class OpKind : uint8_t {
  kIgnore = 0,  // fire-and-forget operations (close of a finished session, cancels of accepts)
  kWake,        // the worker's eventfd: the control thread wants attention
  kAccept,      // slot = accept slot index
  kConnect,     // slot = session, for all the kinds below
  kConnectTimeout,
  kRecvClient,
  kRecvBackend,
  kSendClient,
  kSendBackend,
  kShutdownClient,   // FIN toward the client (downstream pipe drained)
  kShutdownBackend,  // FIN toward the backend (upstream pipe drained)
  kPeekBackend,      // is a connection taken from the idle pool still clean? (never waits)
  // Bytes moving by splice (core/proxy/splice_pump.hpp: an L4 direction, or an HTTP response
  // body from the backend to the client): a readiness poll on, or a splice from/into, the named
  // socket.
  kSpliceFromClient,
  kSpliceToBackend,
  kSpliceFromBackend,
  kSpliceToClient,
  kCancel,
  // The control thread's ring (core/control_loop.cpp, core/probes/health_checker.cpp).
  kSignal,        // the signalfd is readable
  kProbe,         // slot = health probe slot, for this kind and the next
  kProbeTimeout,  // the linked timeout of a probe's current operation
  kAdminAccept,   // the admin listener (core/admin/admin_server.cpp)
  kAdminRecv,     // slot = admin connection, for this kind and the next
  kAdminSend,
  kWatchFiles,  // the inotify fd of the backends files (core/discovery/backends_file_watch.cpp)
  kDnsReady,    // a c-ares socket is ready (core/discovery/dns_resolver.hpp's epoll descriptor)
};

struct OpTag {
  OpKind kind = OpKind::kIgnore;
  uint32_t slot = 0;
  uint32_t generation = 0;  // 24 bits are kept

  uint64_t encode() const {
    return (uint64_t{static_cast<uint8_t>(kind)} << 56) | (uint64_t{generation & 0xFFFFFFu} << 32) |
           slot;
  }
  static OpTag decode(uint64_t data) {
    return {static_cast<OpKind>(data >> 56), static_cast<uint32_t>(data),
            static_cast<uint32_t>(data >> 32) & 0xFFFFFFu};
  }
};

}  // namespace ringlb
