// Who gives up an admin connection slot when a new connection finds none free. The admin port
// has few slots, so without a rule a handful of slow clients hold them all and /ready goes dark
// (issue 15, item 5). A new connection is never refused for want of a slot: it takes the place
// of the connection open longest, of its own address when that address holds its whole share,
// else of the address that holds the most. So one address cannot keep another out, and a prober
// that shares an attacker's address (both on loopback) still gets in.
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace ringlb {

// A client's address without the port; IPv4 in its IPv4-mapped IPv6 form, so that a client
// seen through a dual-stack socket counts as the same client.
using PeerAddress = std::array<uint8_t, 16>;

PeerAddress peer_address(const sockaddr_storage& peer);
std::string to_string(const PeerAddress& address);  // "127.0.0.1", "::1"

struct AdminSlotLimits {
  size_t total = 64;
  size_t per_address = 16;
};

// One open connection as the rule sees it.
struct AdminSlotHolder {
  PeerAddress peer{};
  std::chrono::steady_clock::time_point opened_at{};
};

// nullopt when a new connection from `peer` fits within `limits` beside `holders`; otherwise the
// index in `holders` of the connection it replaces. Pure: the caller closes that connection.
std::optional<size_t> admin_slot_to_free(std::span<const AdminSlotHolder> holders,
                                         const PeerAddress& peer, AdminSlotLimits limits);

}  // namespace ringlb
