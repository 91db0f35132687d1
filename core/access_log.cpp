// AccessLog: buffered appends, one write per loop turn.
#include "core/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringlb {

namespace {

constexpr size_t kFlushThreshold = 64 * 1024;

int open_for_append(const std::string& path, std::string& why) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) why = "cannot open access log " + path + ": " + std::strerror(errno);
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
