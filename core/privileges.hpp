// Who the proxy runs as (runtime.user): decided before anything is bound, so a refused start
// binds nothing, and applied after the listeners are bound and before any worker thread starts.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "config/config.hpp"

namespace ringlb {

struct PrivilegePlan {
  bool drop = false;  // false: stay who we are
  std::string user;   // the user we run as once the plan is applied
  uid_t uid = 0;
  gid_t gid = 0;
};

// Reads the effective uid and the user database (getpwnam). Returns the plan, or nullopt with
// `error` set to a one-line reason (exit 1):
//   root, runtime.user empty    refused: a proxy facing the network must not stay root by
//                               accident; runtime.user = "root" says it is on purpose
//   root, runtime.user = NAME   drop to NAME (a uid-0 NAME stays root)
//   not root, NAME is us / ""   stay, nothing to drop
//   not root, NAME is another   refused: only root can switch users
std::optional<PrivilegePlan> plan_privileges(const std::string& runtime_user, std::string& error);

// The same for config.runtime.user, with `error` as "FILE:LINE:COL: reason" at runtime.user, so
// `ringlb --check` run by the user who starts ringlb refuses what the server would.
std::optional<PrivilegePlan> plan_privileges(const config::Config& config, std::string& error);

// Applies a plan that drops: supplementary groups from NAME's entry (initgroups), then gid and
// uid (real, effective and saved), keeping only CAP_NET_BIND_SERVICE so a reload can still bind
// ports below 1024; then sets no_new_privs and checks that uid 0 cannot be regained. Returns an
// empty string, or why it failed (exit 2). Must run while the process has one thread.
std::string apply_privileges(const PrivilegePlan& plan);

}  // namespace ringlb
