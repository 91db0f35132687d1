// mallopt(3) in one place: see heap.hpp for why ringlb fixes glibc's thresholds.
#include "core/base/heap.hpp"

#include <malloc.h>

#include <climits>

#include "core/base/log.hpp"

namespace ringlb {

void set_heap_thresholds(size_t trim_bytes, size_t mmap_bytes) {
  // mallopt takes an int; anything past INT_MAX is a caller's mistake, not a setting.
  if (trim_bytes > 0 && trim_bytes <= INT_MAX &&
      mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim_bytes)) != 1) {
    LOG_WARN("mallopt(M_TRIM_THRESHOLD, %zu) refused", trim_bytes);
  }
  if (mmap_bytes > 0 && mmap_bytes <= INT_MAX &&
      mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_bytes)) != 1) {
    LOG_WARN("mallopt(M_MMAP_THRESHOLD, %zu) refused", mmap_bytes);
  }
}

}  // namespace ringlb
