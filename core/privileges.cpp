// The privilege drop: initgroups, setresgid, setresuid, keep CAP_NET_BIND_SERVICE, verify.
#include "core/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "config/diagnostic.hpp"

namespace ringlb {
namespace {

struct UserEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::optional<UserEntry> find_user_by_name(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
    return std::nullopt;
  }
  return UserEntry{found->pw_name, found->pw_uid, found->pw_gid};
}

std::string name_of_uid(uid_t uid) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
    return "uid " + std::to_string(uid);
  }
  return found->pw_name;
}

std::string errno_text(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

// Permitted and effective = CAP_NET_BIND_SERVICE only; nothing inheritable.
bool keep_only_net_bind_service() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  data[0].permitted = data[0].effective = 1u << CAP_NET_BIND_SERVICE;
  return syscall(SYS_capset, &header, data) == 0;
}

// After the drop nothing may bring uid or gid 0 back.
std::string verify_dropped(const PrivilegePlan& plan) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  getresuid(&ruid, &euid, &suid);
  getresgid(&rgid, &egid, &sgid);
  if (ruid != plan.uid || euid != plan.uid || suid != plan.uid || rgid != plan.gid ||
      egid != plan.gid || sgid != plan.gid) {
    return "credentials after the drop are not those of " + plan.user;
  }
  if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0) {
    return "uid or gid 0 could be regained after dropping to " + plan.user;
  }
  return "";
}

}  // namespace

std::optional<PrivilegePlan> plan_privileges(const std::string& runtime_user, std::string& error) {
  const uid_t euid = geteuid();
  const std::string current = name_of_uid(euid);
  if (runtime_user.empty()) {
    if (euid == 0) {
      error =
          "refusing to run as root without runtime.user: set runtime.user = \"ringlb\" (an "
          "unprivileged user to switch to after binding), or runtime.user = \"root\" to run as "
          "root on purpose";
      return std::nullopt;
    }
    return PrivilegePlan{false, current, euid, getegid()};
  }
  std::optional<UserEntry> wanted = find_user_by_name(runtime_user);
  if (!wanted) {
    error = "runtime.user = \"" + runtime_user +
            "\": no such user (create it, e.g. with "
            "systemd-sysusers or adduser --system)";
    return std::nullopt;
  }
  if (wanted->uid == euid) return PrivilegePlan{false, wanted->name, euid, getegid()};
  if (euid != 0) {
    error = "runtime.user = \"" + runtime_user + "\", but ringlb runs as \"" + current +
            "\" and only root can switch users: start it as root (it switches after binding), "
            "as \"" +
            runtime_user + "\", or remove runtime.user";
    return std::nullopt;
  }
  return PrivilegePlan{true, wanted->name, wanted->uid, wanted->gid};
}

std::optional<PrivilegePlan> plan_privileges(const config::Config& config, std::string& error) {
  std::optional<PrivilegePlan> plan = plan_privileges(config.runtime.user, error);
  if (plan) return plan;
  const config::SourcePosition at = config.runtime.user_position;
  error = config::Diagnostic{config::Severity::kError, config.path, at.line, at.column, error}
              .to_string();
  return std::nullopt;
}

std::string apply_privileges(const PrivilegePlan& plan) {
  if (!plan.drop) return "";
  // Capabilities survive the uid change only with KEEPCAPS; everything but
  // CAP_NET_BIND_SERVICE is then removed by the capset below.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return errno_text("prctl(PR_SET_KEEPCAPS)");
  if (initgroups(plan.user.c_str(), plan.gid) != 0) return errno_text("initgroups");
  if (setresgid(plan.gid, plan.gid, plan.gid) != 0) return errno_text("setresgid");
  if (setresuid(plan.uid, plan.uid, plan.uid) != 0) return errno_text("setresuid");
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (!keep_only_net_bind_service()) return errno_text("capset");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno_text("prctl(PR_SET_NO_NEW_PRIVS)");
  return verify_dropped(plan);
}

}  // namespace ringlb
