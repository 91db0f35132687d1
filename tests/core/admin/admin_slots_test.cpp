// The admin port's slot rule (core/admin/admin_slots.hpp): one address cannot keep another out, and a
// new connection always gets in, at the cost of the connection open longest.
#include "core/admin/admin_slots.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <vector>

namespace ringlb {
namespace {

using Clock = std::chrono::steady_clock;

PeerAddress v4(uint8_t last) {
  PeerAddress address{};
  address[10] = 0xFF;
  address[11] = 0xFF;
  address[12] = 127;
  address[15] = last;
  return address;
}

// `count` connections from `peer`, opened one second apart after `start` seconds.
void open(std::vector<AdminSlotHolder>& holders, const PeerAddress& peer, int count, int start) {
  for (int i = 0; i < count; ++i) {
    holders.push_back({peer, Clock::time_point{} + std::chrono::seconds(start + i)});
  }
}

constexpr AdminSlotLimits kLimits{.total = 8, .per_address = 3};

TEST(AdminSlots, ANewConnectionWithinBothLimitsTakesAFreeSlot) {
  std::vector<AdminSlotHolder> holders;
  open(holders, v4(1), 2, 0);
  open(holders, v4(2), 3, 10);
  EXPECT_EQ(admin_slot_to_free(holders, v4(1), kLimits), std::nullopt);
  EXPECT_EQ(admin_slot_to_free(holders, v4(3), kLimits), std::nullopt);
}

TEST(AdminSlots, AnAddressAtItsShareGivesUpItsOwnLongestOpen) {
  std::vector<AdminSlotHolder> holders;
  open(holders, v4(1), 1, 0);   // the longest open of all, but of another address
  open(holders, v4(2), 3, 10);  // 1..3: its whole share
  EXPECT_EQ(admin_slot_to_free(holders, v4(2), kLimits), std::optional<size_t>(1));
}

TEST(AdminSlots, AFullTableTakesFromTheAddressHoldingMostNotFromTheOldest) {
  std::vector<AdminSlotHolder> holders;
  open(holders, v4(1), 1, 0);   // 0: a slow prober, open longest
  open(holders, v4(2), 2, 10);  // 1, 2
  open(holders, v4(3), 3, 20);  // 3..5: the most
  open(holders, v4(4), 2, 30);  // 6, 7
  ASSERT_EQ(holders.size(), kLimits.total);
  EXPECT_EQ(admin_slot_to_free(holders, v4(5), kLimits), std::optional<size_t>(3));
  EXPECT_EQ(admin_slot_to_free(holders, v4(1), kLimits), std::optional<size_t>(3));
}

TEST(AdminSlots, AmongEquallyBusyAddressesTheLongestOpenGoes) {
  std::vector<AdminSlotHolder> holders;
  open(holders, v4(2), 2, 20);  // 0, 1
  open(holders, v4(3), 2, 5);   // 2, 3: as many, open longer
  open(holders, v4(4), 2, 30);
  open(holders, v4(5), 2, 40);
  EXPECT_EQ(admin_slot_to_free(holders, v4(1), kLimits), std::optional<size_t>(2));
}

TEST(AdminSlots, IPv4AndItsMappedFormAreOneClient) {
  sockaddr_storage plain{};
  auto& in4 = reinterpret_cast<sockaddr_in&>(plain);
  in4.sin_family = AF_INET;
  in4.sin_addr.s_addr = htonl(0x7F000001);
  sockaddr_storage mapped{};
  auto& in6 = reinterpret_cast<sockaddr_in6&>(mapped);
  in6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr), 1);
  EXPECT_EQ(peer_address(plain), peer_address(mapped));
  EXPECT_EQ(to_string(peer_address(plain)), "127.0.0.1");
  in6.sin6_addr = in6addr_loopback;
  EXPECT_EQ(to_string(peer_address(mapped)), "::1");
}

}  // namespace
}  // namespace ringlb
