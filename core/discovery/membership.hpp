// Which backends each pool has right now, from every source that may name them (spec.md,
// "Discovery"; docs/architecture.md, "Membership"). Pure bookkeeping on the control thread: no
// I/O, no snapshot, no health state.
//
// THE ENTRY POINT for a source of backends (the watched file, DNS, the admin API):
//
//     bool changed = membership.replace(pool, BackendSource::kDns, std::move(backends));
//
// on the control thread, with the complete list that source now gives for `pool` (an empty list
// empties that source's share; only a successful empty answer should do that, so a source that
// failed calls nothing and keeps its last good list). It returns whether the pool's set changed
// (addresses or weights). The source does nothing else: the control loop (core/control_loop.cpp)
// asks `take_changed()` after every turn of its ring, and when a pool changed it builds the
// configuration again with `members()` as each pool's `backends`, rebuilds the snapshot (new
// hash tables, built on the control thread off the data path) and installs it. Several calls in
// one turn cost one rebuild. A backend that left is drained, not cut, and its health state is
// kept for a hold (health::kRemovedHold, 60 s) in case it comes back.
//
// The pool's set is the union of its sources. When two sources name the same address, the one
// earlier in BackendSource wins for its weight: admin, then the inline `backends`, then
// `backends_file`, then DNS. An admin removal hides the address whatever source names it, until
// an admin add or the next reload. The fingerprint of a set (the same on every instance with the
// same set): balancers/fingerprint.hpp.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace ringlb::discovery {

// Where a backend came from; also the order of precedence on a duplicate address.
enum class BackendSource : uint8_t { kAdmin, kInline, kFile, kDns };
inline constexpr size_t kBackendSources = 4;
std::string_view source_name(BackendSource source);

enum class AdminAdd { kAdded, kPresent, kNoPool };
enum class AdminRemove { kRemoved, kAbsent, kNoPool };

class Membership {
 public:
  // Start-up and every reload: the pools of `config`, each with its inline `backends`. The admin
  // API's adds and removals end here (a reload makes the file the truth again); the file and DNS
  // lists of pools that remain are kept until their source speaks again (a pool that no longer
  // has that source must be given an empty list). Marks every pool changed.
  void reset(const config::Config& config);

  // See the header comment. A pool the configuration does not have is ignored (false).
  bool replace(const std::string& pool, BackendSource source,
               std::vector<config::BackendConfig> backends);

  // The admin API: PUT and DELETE /pools/NAME/backends/ADDR.
  AdminAdd admin_add(const std::string& pool, const config::BackendConfig& backend);
  AdminRemove admin_remove(const std::string& pool, const std::string& address);

  // The pool's set: one entry per address; inline backends first in file order, then the file's,
  // DNS's, the admin's. The hash tables sort what they are given, so two instances with the same
  // set build the same tables whatever the order or source. Empty for an unknown pool.
  std::vector<config::BackendConfig> members(const std::string& pool) const;
  bool has_pool(const std::string& pool) const { return pools_.contains(pool); }
  // Whether the admin API changed anything since the last reset (a reload logs that it undid it).
  bool admin_changed() const;

  // The pools whose set changed since the last call, and forgets them.
  std::set<std::string> take_changed();
  bool any_changed() const { return !changed_.empty(); }

 private:
  struct PoolSources {
    std::array<std::vector<config::BackendConfig>, kBackendSources> lists;
    std::set<std::string> admin_removed;  // addresses hidden whatever names them
  };
  // Sets `lists[source]` and marks the pool when its members changed.
  bool set_list(const std::string& pool, BackendSource source,
                std::vector<config::BackendConfig> backends);

  std::map<std::string, PoolSources> pools_;
  std::set<std::string> changed_;
};

// Start-up, reload and `ringlb explain`: `membership.reset(config)`, the file lists the loader
// read (pool.file_backends) as BackendSource::kFile, then each pool's `backends` set to its
// members, so the configuration the snapshot is built from holds the whole set.
void merge_configured_sources(config::Config& config, Membership& membership);

}  // namespace ringlb::discovery
