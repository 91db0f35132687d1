// AccessLog: buffered appends, one write per loop turn.
#include "core/proxy/access_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/file_read.hpp"

namespace ringlb {

namespace {

constexpr size_t kFlushThreshold = 64 * 1024;

// How many bytes of a valid UTF-8 sequence (RFC 3629 §4) start `text`; 0 if none does (a stray
// continuation byte, an overlong form, a surrogate, past U+10FFFF, or cut short).
size_t utf8_sequence_length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80;  // the range of the second byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// The escape of the byte at the front of `text`, or the bytes to copy as they are.
struct Piece {
  char escaped[8];
  size_t escaped_size = 0;  // 0: copy `raw` bytes of the input
  size_t raw = 1;
};

Piece escape_front(std::string_view text, config::LogFormat format) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(text.front());
  Piece piece;
  const auto hex = [&](const char* prefix, size_t prefix_size) {
    std::memcpy(piece.escaped, prefix, prefix_size);
    piece.escaped[prefix_size] = kHex[byte >> 4];
    piece.escaped[prefix_size + 1] = kHex[byte & 0xF];
    piece.escaped_size = prefix_size + 2;
  };
  if (format == config::LogFormat::kText) {
    if (byte <= 0x20 || byte >= 0x7f || byte == '"' || byte == '\\') hex("\\x", 2);
    return piece;
  }
  if (byte == '"' || byte == '\\') {
    piece.escaped[0] = '\\';
    piece.escaped[1] = static_cast<char>(byte);
    piece.escaped_size = 2;
  } else if (byte < 0x20 || byte == 0x7f) {
    hex("\\u00", 4);
  } else if (byte >= 0x80) {
    piece.raw = utf8_sequence_length(text);
    if (piece.raw == 0) hex("\\u00", 4);
  }
  return piece;
}

// O_NONBLOCK: a FIFO (or a device) named as the log would otherwise block the open until a
// reader shows up, and that open runs on the control thread at start and reload and in a worker
// on SIGUSR1. Anything that is not a regular file is refused: a write to it could block too.
int open_for_append(const std::string& path, std::string& why) {
  const auto refuse = [&](const std::string& reason) {
    why = "cannot open access log " + path + ": " + reason;
    return -1;
  };
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
  struct stat status {};
  if (fd < 0) {
    const int error = errno;  // ENXIO: a FIFO without a reader; say so rather than "No such device"
    if (stat(path.c_str(), &status) == 0 && !S_ISREG(status.st_mode)) {
      return refuse(std::string("it is ") + config::file_kind(status.st_mode) +
                    ", not a regular file");
    }
    return refuse(std::strerror(error));
  }
  if (fstat(fd, &status) != 0) {
    const int error = errno;
    close(fd);
    return refuse(std::strerror(error));
  }
  if (!S_ISREG(status.st_mode)) {  // a FIFO with a reader opens at once
    close(fd);
    return refuse(std::string("it is ") + config::file_kind(status.st_mode) +
                  ", not a regular file");
  }
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);  // appends wait for the disk
  return fd;
}

}  // namespace

bool AccessLog::open(const std::string& target, config::LogFormat format, std::string& why) {
  format_ = format;
  target_ = target;
  if (target == "off") return true;
  if (target == "stdout") {
    fd_ = STDOUT_FILENO;
    return true;
  }
  fd_ = open_for_append(target, why);
  if (fd_ < 0) return false;
  owns_fd_ = true;
  path_ = target;
  return true;
}

bool AccessLog::reopen(std::string& why) {
  if (!owns_fd_) return true;
  flush();
  const int fd = open_for_append(path_, why);
  if (fd < 0) return false;
  close(fd_);
  fd_ = fd;
  return true;
}

bool AccessLog::retarget(const std::string& target, config::LogFormat format, std::string& why) {
  flush();
  AccessLog next;
  if (!next.open(target, format, why)) return false;
  if (owns_fd_) close(fd_);
  fd_ = next.fd_;
  owns_fd_ = next.owns_fd_;
  target_ = target;
  path_ = next.path_;
  format_ = format;
  next.owns_fd_ = false;  // the descriptor is ours now
  return true;
}

std::string AccessLog::probe(const std::string& target) {
  if (target == "off" || target == "stdout") return "";
  std::string why;
  const int fd = open_for_append(target, why);
  if (fd >= 0) close(fd);
  return why;
}

AccessLog::~AccessLog() {
  flush();
  if (owns_fd_) close(fd_);
}

void AccessLog::append(std::string_view line) {
  pending_ += line;
  pending_ += '\n';
  if (pending_.size() >= kFlushThreshold) flush();
}

const char* escape_log_value(std::string_view value, config::LogFormat format,
                             std::span<char> out) {
  if (value.empty() || out.empty()) return "-";
  size_t used = 0;
  while (!value.empty()) {
    const Piece piece = escape_front(value, format);
    const size_t size = piece.escaped_size != 0 ? piece.escaped_size : piece.raw;
    if (used + size >= out.size()) break;  // keeps room for the NUL
    std::memcpy(out.data() + used, piece.escaped_size != 0 ? piece.escaped : value.data(), size);
    used += size;
    value.remove_prefix(piece.escaped_size != 0 ? 1 : piece.raw);
  }
  out[used] = '\0';
  return out.data();
}

void AccessLog::flush() {
  size_t written = 0;
  while (written < pending_.size() && fd_ >= 0) {
    ssize_t result = ::write(fd_, pending_.data() + written, pending_.size() - written);
    if (result <= 0) break;  // a full disk must not stall the proxy: drop the rest
    written += static_cast<size_t>(result);
  }
  pending_.clear();
}

}  // namespace ringlb
