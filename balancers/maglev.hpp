// The Maglev lookup table (Eisenbud et al., NSDI 2016, §3.4): M slots (M prime), each owned by
// one backend, filled so every backend owns a share of slots proportional to its weight and a
// change of one backend moves few slots. Built from the backends sorted by address, so every
// ringlb instance with the same (address, weight) set builds the same table (docs/architecture.md).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ringlb::balancers {

// A backend as the hash tables see it: identity by address, share by weight, and the index the
// table hands back.
struct HashNode {
  std::string_view address;  // "10.0.0.1:8080", as config writes it
  uint32_t weight = 1;       // > 0
  uint32_t backend = 0;      // the index returned for this node's slots
};

class MaglevTable {
 public:
  // Builds the table; `nodes` in any order, addresses unique, `table_size` prime. Off the data
  // path: O(M log M) time, allocates. An empty `nodes` gives an empty table.
  MaglevTable(std::span<const HashNode> nodes, uint32_t table_size);

  uint32_t size() const { return static_cast<uint32_t>(slots_.size()); }
  // The slot a key hash lands in, by multiply-shift on its high 32 bits (no division).
  uint32_t slot(uint64_t key_hash) const {
    return static_cast<uint32_t>(((key_hash >> 32) * slots_.size()) >> 32);
  }
  // The backend index owning `slot` (< size()).
  uint32_t owner(uint32_t slot) const { return slots_[slot]; }
  std::span<const uint32_t> slots() const { return slots_; }

 private:
  std::vector<uint32_t> slots_;
};

}  // namespace ringlb::balancers
