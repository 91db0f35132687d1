// How much freed memory glibc's malloc keeps instead of handing it back to the kernel.
#pragma once

#include <cstddef>

namespace ringlb {

// Sets malloc's trim threshold (a free leaves up to `trim_bytes` unused at the top of an arena
// before it gives memory back) and its mmap threshold (allocations below `mmap_bytes` come from
// the arenas), both fixed, so glibc's dynamic thresholds no longer change with what ran first.
// Why: a TLS connection in a bulk transfer frees a ~128 KiB send buffer after every send. With
// glibc's defaults the worker's arena then gave the pages back (madvise) and faulted them in
// again on the next send, in some processes and not others: tlsbig cost 1.7-2x the CPU per MiB
// in those (docs/performance.md, "Heap trimming"). 0 for either leaves glibc's default.
void set_heap_thresholds(size_t trim_bytes, size_t mmap_bytes);

}  // namespace ringlb
