// The logger behind RINGLB_LOG: formats into a stack buffer and writes it with one syscall.
#include "core/base/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace ringlb::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
thread_local char t_thread_name[16] = "main";

const char* level_name(Level level) {
  switch (level) {
    case Level::kError:
      return "error";
    case Level::kWarn:
      return "warn";
    case Level::kInfo:
      return "info";
    case Level::kDebug:
      return "debug";
  }
  return "?";
}

}  // namespace

void set_level(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool enabled(Level level) {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

void set_thread_name(const char* name) {
  std::strncpy(t_thread_name, name, sizeof(t_thread_name) - 1);
  t_thread_name[sizeof(t_thread_name) - 1] = '\0';
}

void write(Level level, const char* format, ...) {
  char line[2048];
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  size_t used = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &utc);
  used += std::snprintf(line + used, sizeof(line) - used, ".%03ldZ %s [%s] ", now.tv_nsec / 1000000,
                        level_name(level), t_thread_name);
  va_list args;
  va_start(args, format);
  int body = std::vsnprintf(line + used, sizeof(line) - used, format, args);
  va_end(args);
  used = body < 0 ? used : std::min(sizeof(line) - 2, used + static_cast<size_t>(body));
  line[used++] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line, used);
  (void)ignored;
}

}  // namespace ringlb::log
