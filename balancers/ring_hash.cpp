// Ring construction and lookup. Point i of a backend is XXH3 of its address with seed i, so a
// backend's points depend on its own address only, never on the other backends or their order.
#include "balancers/ring_hash.hpp"

#include <xxhash.h>

#include <algorithm>
#include <tuple>

namespace ringlb::balancers {
namespace {

struct Point {
  uint64_t hash;
  std::string_view address;  // breaks the (rare) tie between two backends' equal hashes
  uint32_t backend;
};

}  // namespace

RingHash::RingHash(std::span<const HashNode> nodes, uint32_t points_per_weight) {
  std::vector<Point> points;
  size_t total = 0;
  for (const HashNode& node : nodes) total += size_t{node.weight} * points_per_weight;
  points.reserve(total);
  for (const HashNode& node : nodes) {
    const uint64_t count = uint64_t{node.weight} * points_per_weight;
    for (uint64_t i = 0; i < count; ++i) {
      points.push_back({XXH3_64bits_withSeed(node.address.data(), node.address.size(), i),
                        node.address, node.backend});
    }
  }
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    return std::tie(a.hash, a.address) < std::tie(b.hash, b.address);
  });
  points_.reserve(points.size());
  owners_.reserve(points.size());
  for (const Point& point : points) {
    points_.push_back(point.hash);
    owners_.push_back(point.backend);
  }
}

uint32_t RingHash::position(uint64_t key_hash) const {
  auto first = std::lower_bound(points_.begin(), points_.end(), key_hash);
  if (first == points_.end()) return 0;
  return static_cast<uint32_t>(first - points_.begin());
}

}  // namespace ringlb::balancers
