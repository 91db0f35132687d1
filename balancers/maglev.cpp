// Maglev table population (the paper's Pseudocode 1) with weights as Katran does them: in each
// round a node earns its weight in credit and claims its next preferred free slot whenever its
// credit reaches the largest weight. Equal weights thus claim in strict turns, and a node's share
// is proportional to its weight.
#include "balancers/maglev.hpp"

#include <xxhash.h>

#include <algorithm>

namespace ringlb::balancers {
namespace {

constexpr uint32_t kEmptySlot = UINT32_MAX;

// A node's walk through its own permutation of the slots: offset + j * skip (mod M).
struct Preference {
  uint32_t position = 0;  // the slot it will try next
  uint32_t skip = 1;
  uint32_t weight = 1;
  uint32_t credit = 0;
  uint32_t backend = 0;
};

std::vector<Preference> preferences(std::span<const HashNode> nodes, uint32_t table_size) {
  std::vector<HashNode> sorted(nodes.begin(), nodes.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const HashNode& a, const HashNode& b) { return a.address < b.address; });
  std::vector<Preference> result;
  result.reserve(sorted.size());
  for (const HashNode& node : sorted) {
    const XXH128_hash_t hash = XXH3_128bits(node.address.data(), node.address.size());
    Preference preference;
    preference.position = static_cast<uint32_t>(hash.low64 % table_size);
    preference.skip =
        table_size > 1 ? static_cast<uint32_t>(hash.high64 % (table_size - 1)) + 1 : 1;
    preference.weight = node.weight;
    preference.backend = node.backend;
    result.push_back(preference);
  }
  return result;
}

// Claims `preference`'s next free slot and moves its walk past it.
void claim(Preference& preference, std::vector<uint32_t>& slots) {
  const uint32_t size = static_cast<uint32_t>(slots.size());
  uint32_t position = preference.position;
  while (slots[position] != kEmptySlot) {
    position += preference.skip;
    if (position >= size) position -= size;
  }
  slots[position] = preference.backend;
  position += preference.skip;
  preference.position = position >= size ? position - size : position;
}

}  // namespace

MaglevTable::MaglevTable(std::span<const HashNode> nodes, uint32_t table_size) {
  if (nodes.empty() || table_size == 0) return;
  std::vector<Preference> walks = preferences(nodes, table_size);
  uint32_t max_weight = 0;
  for (const Preference& walk : walks) max_weight = std::max(max_weight, walk.weight);
  slots_.assign(table_size, kEmptySlot);
  uint32_t filled = 0;
  while (true) {
    for (Preference& walk : walks) {
      walk.credit += walk.weight;
      if (walk.credit < max_weight) continue;
      walk.credit -= max_weight;
      claim(walk, slots_);
      if (++filled == table_size) return;
    }
  }
}

}  // namespace ringlb::balancers
