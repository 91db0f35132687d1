// One open, one fstat, one read loop per file: what is checked is exactly what is used, and
// nothing that is not a regular file is ever read.
#include "config/file_read.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace ringlb::config {
namespace {

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

std::string access_log_problem(const std::string& path) {
  struct stat status {};
  if (stat(path.c_str(), &status) == 0) {
    if (S_ISREG(status.st_mode)) return "";
    return std::string("it is ") + file_kind(status.st_mode) + ", not a regular file";
  }
  if (errno != ENOENT) return std::strerror(errno);
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  if (stat(directory.c_str(), &status) != 0) {
    // A directory that is not there yet depends on the machine, not on the file (the packaged
    // config names /var/log/ringlb, which the package's tmpfiles.d creates): the start refuses
    // it with this setting's position, --check leaves it, as it leaves ports and users.
    if (errno == ENOENT) return "";
    return "its directory " + directory + " cannot be used: " + std::strerror(errno);
  }
  if (!S_ISDIR(status.st_mode)) return "its directory " + directory + " is not a directory";
  return "";
}

std::optional<FileBytes> read_regular_file(const std::string& path, std::string& why,
                                           uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  Descriptor file(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (file.get() < 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  struct stat status {};
  if (fstat(file.get(), &status) != 0) {
    why = std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(status.st_mode)) {
    why = std::string("it is ") + file_kind(status.st_mode) + ", not a regular file";
    return std::nullopt;
  }
  const std::string too_large = "it is larger than " + std::to_string(max_bytes >> 10) + " KiB";
  if (static_cast<uint64_t>(status.st_size) > max_bytes) {
    why = too_large;
    return std::nullopt;
  }
  FileBytes read{{}, static_cast<mode_t>(status.st_mode & 07777)};
  read.bytes.reserve(static_cast<size_t>(status.st_size));
  std::array<char, 16384> buffer;
  for (;;) {
    const ssize_t count = ::read(file.get(), buffer.data(), buffer.size());
    if (count == 0) break;
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      why = std::strerror(errno);
      return std::nullopt;
    }
    read.bytes.append(buffer.data(), static_cast<size_t>(count));
    if (read.bytes.size() > max_bytes) {  // it grew while being read
      why = too_large;
      return std::nullopt;
    }
  }
  return read;
}

}  // namespace ringlb::config
