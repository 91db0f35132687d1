// The reload's report on settings outside the snapshot's listeners and pools.
#include "core/reload_changes.hpp"

#include "config/diagnostic.hpp"
#include "core/proxy/access_log.hpp"
#include "core/base/log.hpp"

namespace ringlb {
namespace {

const char* format_name(config::LogFormat format) {
  return format == config::LogFormat::kJson ? "json" : "text";
}

}  // namespace

void warn_restart_only_changes(const config::Config& running, const config::Config& loaded,
                               uint32_t running_workers, uint32_t loaded_workers) {
  if (loaded_workers != running_workers) {
    LOG_WARN("runtime.workers changed: keeping %u workers until restart", running_workers);
  }
  if (loaded.runtime.user != running.runtime.user) {
    LOG_WARN("runtime.user changed: the user switch happens only at start");
  }
  if (loaded.admin.listen != running.admin.listen) {
    LOG_WARN("admin.listen changed: the admin listener moves only at restart");
  }
}

std::string access_log_refusal(const std::string& config_path, const config::LogConfig& log) {
  const std::string why = AccessLog::probe(log.access);
  if (why.empty()) return "";
  return config::Diagnostic{config::Severity::kError, config_path, log.access_position.line,
                            log.access_position.column, "log.access: " + why}
      .to_string();
}

std::string check_access_log_change(const config::LogConfig& running,
                                    const config::LogConfig& loaded,
                                    const std::string& config_path) {
  if (loaded.access == running.access) return "";
  return access_log_refusal(config_path, loaded);
}

void log_applied_log_changes(const config::LogConfig& before, const config::LogConfig& after) {
  if (after.access != before.access) {
    LOG_INFO("log.access changed: each worker now writes the access log to %s (was %s)",
             after.access.c_str(), before.access.c_str());
  }
  if (after.format != before.format) {
    LOG_INFO("log.format changed: access log lines are now %s (were %s)", format_name(after.format),
             format_name(before.format));
  }
}

}  // namespace ringlb
