// Leveled logging to stderr: one line per event, with the time and the thread (`main`, `w0`...).
// Each line is one write(2), so lines from several threads never interleave.
#pragma once

#include <cstdarg>

#include "config/config.hpp"

namespace ringlb::log {

using Level = config::LogLevel;

void set_level(Level level);
bool enabled(Level level);
// Names the calling thread in every line it logs ("main", "w0", ...). Copied, at most 15 chars.
void set_thread_name(const char* name);

void write(Level level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace ringlb::log

// The level check comes first so disabled lines cost no formatting.
#define RINGLB_LOG(level, ...)                                                   \
  do {                                                                           \
    if (::ringlb::log::enabled(level)) ::ringlb::log::write(level, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(...) RINGLB_LOG(::ringlb::config::LogLevel::kError, __VA_ARGS__)
#define LOG_WARN(...) RINGLB_LOG(::ringlb::config::LogLevel::kWarn, __VA_ARGS__)
#define LOG_INFO(...) RINGLB_LOG(::ringlb::config::LogLevel::kInfo, __VA_ARGS__)
#define LOG_DEBUG(...) RINGLB_LOG(::ringlb::config::LogLevel::kDebug, __VA_ARGS__)
