// A table of slots, each holding at most one T and a generation, for whatever a completion's
// user_data names (sessions, accept sockets, probes, admin connections). The generation changes
// each time a slot is freed, so a handle taken before the free no longer finds anything: a stale
// completion is recognised and dropped, never dereferenced (docs/architecture.md, "The io_uring
// rules"). This is the one place that check is written.
//
// Entries live in fixed chunks and never move, so the kernel and timers may hold pointers into
// them. Single thread; the table allocates only when it grows by a chunk.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace ringlb {

// What a user_data (OpTag) or a timer keeps to find its owner again. Only 24 generation bits
// fit in user_data beside the kind and the slot, so generations wrap at 2^24.
struct SlotHandle {
  uint32_t slot = 0;
  uint32_t generation = 0;
};

template <typename T, uint32_t kChunk = 256>
class SlotTable {
 public:
  static constexpr uint32_t kGenerationMask = 0xFFFFFFu;

  SlotTable() = default;
  SlotTable(const SlotTable&) = delete;
  SlotTable& operator=(const SlotTable&) = delete;

  // Builds a T in a free slot (the lowest of a new chunk first, else the one freed last).
  // The returned reference stays valid until erase(handle.slot).
  template <typename... Args>
  std::pair<SlotHandle, T&> emplace(Args&&... args) {
    if (free_.empty()) grow();
    const uint32_t slot = free_.back();
    free_.pop_back();
    Entry& entry = entry_at(slot);
    T& value = entry.value.emplace(std::forward<Args>(args)...);
    ++live_;
    return {SlotHandle{slot, entry.generation}, value};
  }

  // The T a handle names, or null when its slot was freed since (or never held one).
  T* find(uint32_t slot, uint32_t generation) {
    if (slot >= capacity()) return nullptr;
    Entry& entry = entry_at(slot);
    if (entry.generation != (generation & kGenerationMask) || !entry.value) return nullptr;
    return &*entry.value;
  }
  T* find(SlotHandle handle) { return find(handle.slot, handle.generation); }

  // The T in `slot` whatever its generation, or null when free: for walking the table.
  T* at(uint32_t slot) {
    if (slot >= capacity()) return nullptr;
    std::optional<T>& value = entry_at(slot).value;
    return value ? &*value : nullptr;
  }
  SlotHandle handle(uint32_t slot) const { return {slot, entry_at(slot).generation}; }

  // Destroys the T in `slot` and makes every handle to it stale.
  void erase(uint32_t slot) {
    Entry& entry = entry_at(slot);
    if (!entry.value) return;
    entry.value.reset();
    entry.generation = (entry.generation + 1) & kGenerationMask;
    free_.push_back(slot);
    --live_;
  }

  // Slots so far, live or free: walk 0..capacity() with at().
  uint32_t capacity() const { return static_cast<uint32_t>(chunks_.size()) * kChunk; }
  uint32_t size() const { return live_; }

 private:
  struct Entry {
    std::optional<T> value;
    uint32_t generation = 0;
  };

  Entry& entry_at(uint32_t slot) { return chunks_[slot / kChunk][slot % kChunk]; }
  const Entry& entry_at(uint32_t slot) const { return chunks_[slot / kChunk][slot % kChunk]; }

  void grow() {
    const uint32_t base = capacity();
    chunks_.push_back(std::make_unique<Entry[]>(kChunk));
    for (uint32_t i = kChunk; i > 0; --i) free_.push_back(base + i - 1);
  }

  std::vector<std::unique_ptr<Entry[]>> chunks_;
  std::vector<uint32_t> free_;  // a stack: the slot freed last is reused first
  uint32_t live_ = 0;
};

}  // namespace ringlb
