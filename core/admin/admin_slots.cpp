// The admin port's slot rule: a quadratic scan, which is nothing for 64 slots and needs no
// bookkeeping that could drift from the connections themselves.
#include "core/admin/admin_slots.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace ringlb {
namespace {

size_t count_of(std::span<const AdminSlotHolder> holders, const PeerAddress& peer) {
  size_t count = 0;
  for (const AdminSlotHolder& holder : holders) count += holder.peer == peer ? 1 : 0;
  return count;
}

// Among `only`'s holders, the longest open; with no `only`, the longest open of the address
// that holds the most.
std::optional<size_t> longest_open(std::span<const AdminSlotHolder> holders,
                                   const PeerAddress* only) {
  std::optional<size_t> chosen;
  size_t chosen_count = 0;
  for (size_t i = 0; i < holders.size(); ++i) {
    if (only != nullptr && holders[i].peer != *only) continue;
    const size_t count = only != nullptr ? 0 : count_of(holders, holders[i].peer);
    const bool busier = count > chosen_count;
    const bool as_busy_and_older =
        count == chosen_count && (!chosen || holders[i].opened_at < holders[*chosen].opened_at);
    if (busier || as_busy_and_older) {
      chosen = i;
      chosen_count = count;
    }
  }
  return chosen;
}

}  // namespace

PeerAddress peer_address(const sockaddr_storage& peer) {
  PeerAddress address{};
  if (peer.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(peer);
    address[10] = 0xFF;
    address[11] = 0xFF;
    std::memcpy(address.data() + 12, &in4.sin_addr, 4);
  } else if (peer.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
    std::memcpy(address.data(), &in6.sin6_addr, 16);
  }
  return address;
}

std::string to_string(const PeerAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(address.data(), kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    inet_ntop(AF_INET, address.data() + 12, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, address.data(), text, sizeof(text));
  }
  return text;
}

std::optional<size_t> admin_slot_to_free(std::span<const AdminSlotHolder> holders,
                                         const PeerAddress& peer, AdminSlotLimits limits) {
  if (count_of(holders, peer) >= limits.per_address) return longest_open(holders, &peer);
  if (holders.size() >= limits.total) return longest_open(holders, nullptr);
  return std::nullopt;
}

}  // namespace ringlb
