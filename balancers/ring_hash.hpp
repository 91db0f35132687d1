// The ketama-style hash ring: each backend puts `points_per_weight × weight` points on a 64-bit
// circle, and a key belongs to the first point at or after its hash. Removing a backend moves
// exactly the keys it held; the price is a less even split than Maglev for the same memory.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "balancers/maglev.hpp"

namespace ringlb::balancers {

class RingHash {
 public:
  // Builds the ring from `nodes` in any order (addresses unique, weights > 0). Off the data
  // path: O(P log P) for P points in all, allocates. No nodes gives an empty ring.
  RingHash(std::span<const HashNode> nodes, uint32_t points_per_weight);

  uint32_t size() const { return static_cast<uint32_t>(points_.size()); }
  // The index of the first point at or after `key_hash`, wrapping past the top to 0. size() > 0.
  uint32_t position(uint64_t key_hash) const;
  // The backend index owning point `position` (< size()).
  uint32_t owner(uint32_t position) const { return owners_[position]; }
  std::span<const uint64_t> points() const { return points_; }

 private:
  std::vector<uint64_t> points_;  // sorted
  std::vector<uint32_t> owners_;  // owners_[i] owns points_[i]
};

}  // namespace ringlb::balancers
