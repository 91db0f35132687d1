// BackendsFileWatch: inotify on the control ring, re-read rate-limited, results to Membership.
#include "core/discovery/backends_file_watch.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "config/backends_file.hpp"
#include "core/base/log.hpp"
#include "core/io/op_tag.hpp"

namespace ringlb::discovery {
namespace {

// What changes a file's content or replaces it: a write closed, a rename onto it, a new file,
// and its removal (logged: the old set is kept).
constexpr uint32_t kDirectoryEvents =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MODIFY;

std::pair<std::string, std::string> split(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

BackendsFileWatch::~BackendsFileWatch() {
  if (fd_ >= 0) close(fd_);
}

std::string BackendsFileWatch::watch(const config::Config& config) {
  std::vector<File> files;
  for (const config::PoolConfig& pool : config.pools) {
    if (pool.backends_file.empty()) continue;
    File file;
    file.pool = pool.name;
    file.path = pool.backends_file;
    std::tie(file.directory, file.name) = split(pool.backends_file);
    file.last_read = Clock::now();  // the loader has just read it
    files.push_back(std::move(file));
  }
  files_ = std::move(files);
  if (files_.empty() && fd_ < 0) return {};
  if (fd_ < 0) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ < 0) return std::string("inotify_init1: ") + std::strerror(errno);
  }
  std::map<std::string, int> directories;
  std::string problem;
  for (const File& file : files_) {
    if (directories.contains(file.directory)) continue;
    const int wd = inotify_add_watch(fd_, file.directory.c_str(), kDirectoryEvents | IN_ONLYDIR);
    if (wd < 0) {
      problem = "cannot watch " + file.directory + ": " + std::strerror(errno);
      continue;
    }
    directories[file.directory] = wd;
  }
  for (const auto& [directory, wd] : directories_) {
    if (!directories.contains(directory)) inotify_rm_watch(fd_, wd);
  }
  directories_ = std::move(directories);
  arm();
  return problem;
}

void BackendsFileWatch::arm() {
  if (armed_ || fd_ < 0) return;
  io_uring_sqe* sqe = ring_.sqe();
  io_uring_prep_poll_add(sqe, fd_, POLLIN);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::kWatchFiles, 0, 0}.encode());
  armed_ = true;
}

void BackendsFileWatch::on_completion(int result) {
  armed_ = false;
  if (result > 0) read_events();
  arm();
}

void BackendsFileWatch::read_events() {
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    const ssize_t got = read(fd_, buffer, sizeof(buffer));
    if (got <= 0) break;
    for (ssize_t at = 0; at < got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->len == 0) continue;
      const std::string name(event->name);
      for (File& file : files_) {
        auto found = directories_.find(file.directory);
        if (found != directories_.end() && found->second == event->wd && file.name == name) {
          file.dirty = true;
        }
      }
    }
  }
  next_wakeup_ = Clock::time_point::min();  // run() decides what is due
}

void BackendsFileWatch::run(Clock::time_point now) {
  next_wakeup_ = Clock::time_point::max();
  for (File& file : files_) {
    if (!file.dirty) continue;
    const Clock::time_point due = file.last_read + kReadInterval;
    if (now < due) {
      next_wakeup_ = std::min(next_wakeup_, due);
      continue;
    }
    file.dirty = false;
    file.last_read = now;
    reread(file);
  }
}

void BackendsFileWatch::reread(File& file) {
  config::BackendsFileResult result = config::load_backends_file(file.path);
  if (!result.backends) {
    std::string problem = std::to_string(result.diagnostics.size());
    for (size_t i = 0; i < result.diagnostics.size() && i < 10; ++i) {
      problem += "\n" + result.diagnostics[i].to_string();
    }
    if (problem == file.last_problem) return;
    file.last_problem = problem;
    LOG_ERROR("pool %s: backends_file %s refused, keeping the running set:", file.pool.c_str(),
              file.path.c_str());
    // A file with thousands of mistakes: the first few say enough, the count says the rest.
    constexpr size_t kLogged = 10;
    for (size_t i = 0; i < result.diagnostics.size() && i < kLogged; ++i) {
      LOG_ERROR("%s", result.diagnostics[i].to_string().c_str());
    }
    if (result.diagnostics.size() > kLogged) {
      LOG_ERROR("... and %zu more", result.diagnostics.size() - kLogged);
    }
    return;
  }
  file.last_problem.clear();
  const size_t count = result.backends->size();
  if (membership_.replace(file.pool, BackendSource::kFile, std::move(*result.backends))) {
    LOG_INFO("pool %s: backends_file %s changed: %zu backend%s", file.pool.c_str(),
             file.path.c_str(), count, count == 1 ? "" : "s");
  }
}

}  // namespace ringlb::discovery
