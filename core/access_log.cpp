// AccessLog: buffered appends, one write per loop turn.
#include "core/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringlb {

namespace {
constexpr size_t kFlushThreshold = 64 * 1024;
}

bool AccessLog::open(const std::string& target, config::LogFormat format, std::string& why) {
  format_ = format;
  if (target == "off") return true;
  if (target == "stdout") {
    fd_ = STDOUT_FILENO;
    return true;
  }
  fd_ = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    why = "cannot open access log " + target + ": " + std::strerror(errno);
    return false;
  }
  owns_fd_ = true;
  return true;
}

AccessLog::~AccessLog() {
  flush();
  if (owns_fd_) close(fd_);
}

void AccessLog::append(const std::string& line) {
  pending_ += line;
  pending_ += '\n';
  if (pending_.size() >= kFlushThreshold) flush();
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
