// A per-worker access log: lines are appended to a buffer and written with one write(2) per loop
// turn, so logging costs no syscall per connection. Owned and used by one worker thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace ringlb {

class AccessLog {
 public:
  // `target`: "stdout", "off", or a file path opened for appending. Returns false with `why` set
  // when the file cannot be opened.
  bool open(const std::string& target, config::LogFormat format, std::string& why);
  ~AccessLog();
  AccessLog() = default;
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Flushes, then opens the file path again and switches to it (logrotate has renamed the old
  // one). On failure keeps writing to the old file and returns false with `why` set. Does
  // nothing for "stdout" and "off".
  bool reopen(std::string& why);

  // Switches to another target and format (a reload changed [log] access or format): flushes
  // what the old target has pending, opens the new one, then closes the old. On failure keeps
  // the old target and format and returns false with `why` set.
  bool retarget(const std::string& target, config::LogFormat format, std::string& why);

  // Whether `target` could be opened for appending now (creating the file), without keeping it:
  // "" when it can, else why not. For the control thread, before it publishes a reload.
  static std::string probe(const std::string& target);

  bool enabled() const { return fd_ >= 0; }
  const std::string& target() const { return target_; }
  config::LogFormat format() const { return format_; }
  // Appends one line (without its newline). Flushed by flush() or when the buffer grows large.
  void append(std::string_view line);
  void flush();

 private:
  int fd_ = -1;
  bool owns_fd_ = false;
  std::string target_;  // as configured: "stdout", "off" or the file path
  std::string path_;    // the file, when the target is one
  config::LogFormat format_ = config::LogFormat::kText;
  std::string pending_;
};

// Writes `value` into `out`, NUL-terminated, escaped so that whatever a client sent reads back
// as exactly one value of a `format` line:
// - text: every byte outside '!'..'~', and '"' and '\', becomes \xHH (nginx's escaping, plus
//   the space), so a line splits on spaces into exactly its key=value fields;
// - JSON (inside a string, RFC 8259): '"' and '\' are backslashed, control characters and DEL
//   become \u00HH, valid UTF-8 is kept, and each byte that is not valid UTF-8 becomes \u00HH
//   (its Latin-1 reading), so the line is valid JSON in valid UTF-8.
// A value too long for `out` is cut before the first byte whose escape would not fit, never
// inside an escape or a UTF-8 sequence. Returns "-" for an empty value, else out.data().
// Allocates nothing.
const char* escape_log_value(std::string_view value, config::LogFormat format, std::span<char> out);

}  // namespace ringlb
