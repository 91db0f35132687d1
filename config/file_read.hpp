// Reading the files a configuration depends on (the configuration itself, certificates, keys, CA
// bundles) without ever blocking: a FIFO, a device or a directory named by mistake is refused,
// not waited on, because the control thread that reads it is also the one that answers signals.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace ringlb::config {

// The largest file ringlb reads for its configuration. A CA bundle with every public root is
// about 220 KiB; anything near this limit is a wrong path, not a certificate.
inline constexpr uint64_t kMaxConfigFileBytes = uint64_t{4} << 20;

struct FileBytes {
  std::string bytes;
  mode_t mode = 0;  // the permission bits at the time of the read (st_mode & 07777)
};

// Reads the whole of `path` through one descriptor opened with O_NONBLOCK, after fstat() shows a
// regular file of at most `max_bytes`. Otherwise nullopt, and `why` says what it is ("it is a
// FIFO, not a regular file", "No such file or directory"). Blocks only on disk I/O.
// What a file that is not a regular one is, in the words `ls -l` users know ("a FIFO",
// "a directory").
const char* file_kind(mode_t mode);

// Why the access log at `path` could not be opened by the server, or "" when it could (it is a
// regular file, or it is missing and its directory exists, so it will be created). Asks only
// stat(2): never opens, never creates, never waits. For `--check`, start and reload.
std::string access_log_problem(const std::string& path);

std::optional<FileBytes> read_regular_file(const std::string& path, std::string& why,
                                           uint64_t max_bytes = kMaxConfigFileBytes);

}  // namespace ringlb::config
