// The pools' `backends_file`s, watched with inotify on the control thread's ring (spec.md,
// "Discovery"). It watches each file's directory, so both an atomic rename over the file
// (consul-template, a Kubernetes ConfigMap) and a write in place are seen, and a file deleted and
// created again is picked up. A change is re-read at most every kReadInterval, validated as the
// main file is, and handed to Membership::replace as BackendSource::kFile; a bad or missing file
// keeps the set it had and logs why (FILE:LINE:COL), once per distinct problem.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/discovery/membership.hpp"
#include "core/io/ring.hpp"

namespace ringlb::discovery {

class BackendsFileWatch {
 public:
  using Clock = std::chrono::steady_clock;
  // How often one file is read at most: a file rewritten every millisecond costs one parse (and
  // at most one snapshot) per interval, and a change reaches traffic within it.
  static constexpr std::chrono::milliseconds kReadInterval{50};

  BackendsFileWatch(Ring& ring, Membership& membership) : ring_(ring), membership_(membership) {}
  ~BackendsFileWatch();
  BackendsFileWatch(const BackendsFileWatch&) = delete;
  BackendsFileWatch& operator=(const BackendsFileWatch&) = delete;

  // The files of `config` (start, reload; already read by the loader). Returns "" or why
  // watching is impossible (then changes are seen only on a reload).
  std::string watch(const config::Config& config);
  // A completion of kind OpKind::kWatchFiles.
  void on_completion(int result);
  // Re-reads the files that changed and are due.
  void run(Clock::time_point now);
  Clock::time_point next_wakeup() const { return next_wakeup_; }

 private:
  struct File {
    std::string pool;
    std::string path;
    std::string directory;
    std::string name;  // in `directory`
    bool dirty = false;
    Clock::time_point last_read{};
    std::string last_problem;  // logged once until it changes
  };
  void arm();
  void read_events();
  void reread(File& file);

  Ring& ring_;
  Membership& membership_;
  int fd_ = -1;
  bool armed_ = false;
  std::map<std::string, int> directories_;  // directory -> watch descriptor
  std::vector<File> files_;
  Clock::time_point next_wakeup_ = Clock::time_point::max();
};

}  // namespace ringlb::discovery
