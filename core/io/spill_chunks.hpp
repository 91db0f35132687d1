// Owned chunks an L4 tunnel copies the rest of a stalled send into, so that it can give the
// provided receive buffer back at once: a slow reader then holds one chunk of its own and none
// of the buffers every connection of the worker shares. Worker thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace ringlb {

class SpillChunks {
 public:
  // A chunk of `bytes` (the same size on every call). Allocates only when no chunk is free,
  // which happens on a stalled send, never on the fast path.
  std::unique_ptr<char[]> take(size_t bytes) {
    if (free_.empty()) return std::make_unique_for_overwrite<char[]>(bytes);
    std::unique_ptr<char[]> chunk = std::move(free_.back());
    free_.pop_back();
    return chunk;
  }
  // Keeps up to kMaxFree chunks for reuse; frees the rest, so memory follows the stalled sends.
  void give_back(std::unique_ptr<char[]> chunk) {
    if (chunk && free_.size() < kMaxFree) free_.push_back(std::move(chunk));
  }

 private:
  static constexpr size_t kMaxFree = 64;
  std::vector<std::unique_ptr<char[]>> free_;
};

}  // namespace ringlb
