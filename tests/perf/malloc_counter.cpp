// An LD_PRELOAD library that counts heap allocations (malloc, calloc, realloc, aligned) in the
// process it is loaded into, and writes the count to $MALLOC_COUNTER_FILE on SIGUSR2. The
// integration test uses it to show that ringlb's data path allocates nothing per request once
// warmed up (docs/architecture.md, "The io_uring rules").
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>

namespace {

std::atomic<unsigned long> g_allocations{0};
using MallocFn = void* (*)(size_t);
using CallocFn = void* (*)(size_t, size_t);
using ReallocFn = void* (*)(void*, size_t);
using AlignedFn = int (*)(void**, size_t, size_t);

// dlsym may itself call calloc; serve that from a static buffer.
char g_bootstrap[4096];
bool g_resolving = false;

template <typename Fn>
Fn next(const char* name) {
  g_resolving = true;
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
  g_resolving = false;
  return fn;
}

void write_count(int) {
  const char* path = getenv("MALLOC_COUNTER_FILE");
  if (path == nullptr) return;
  char digits[32];
  int length = 0;
  unsigned long value = g_allocations.load();
  do {
    digits[sizeof(digits) - 1 - length++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t ignored = write(fd, digits + sizeof(digits) - length, static_cast<size_t>(length));
  (void)ignored;
  close(fd);
}

__attribute__((constructor)) void install() {
  struct sigaction action {};
  action.sa_handler = write_count;
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR2, &action, nullptr);
}

}  // namespace

extern "C" {

void* malloc(size_t size) {
  static MallocFn real = next<MallocFn>("malloc");
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return real(size);
}

void* calloc(size_t count, size_t size) {
  if (g_resolving) return g_bootstrap;
  static CallocFn real = next<CallocFn>("calloc");
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return real(count, size);
}

void* realloc(void* pointer, size_t size) {
  static ReallocFn real = next<ReallocFn>("realloc");
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return real(pointer, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  static AlignedFn real = next<AlignedFn>("posix_memalign");
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return real(out, alignment, size);
}

void free(void* pointer) {
  if (pointer == g_bootstrap) return;
  static auto real = next<void (*)(void*)>("free");
  real(pointer);
}

}  // extern "C"
