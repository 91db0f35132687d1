// What a reload does with the settings that are not part of a snapshot's listeners and pools:
// it names each one it cannot apply, checks the ones it applies outside the snapshot before
// anything is published, and says what it changed. A reload is never silent about a setting.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"

namespace ringlb {

// Logs a warning naming each setting of `loaded` that only a restart applies (runtime.workers,
// runtime.user, admin.listen) and that differs from `running`. Control thread.
void warn_restart_only_changes(const config::Config& running, const config::Config& loaded,
                               uint32_t running_workers, uint32_t loaded_workers);

// "" when the access log `log` names can be opened now (creating the file, as the workers
// will), else "FILE:LINE:COL: log.access PATH: why" at the setting in `config_path`, so a start
// that would fail on it says where it is configured. Never waits on a FIFO. Control thread.
std::string access_log_refusal(const std::string& config_path, const config::LogConfig& log);

// "" when the [log] access target of `loaded` can be opened (or did not change), else the
// refusal above, so a reload that would lose the access log is refused before it is published.
// Creates the new file, as the workers will. Control thread.
std::string check_access_log_change(const config::LogConfig& running,
                                    const config::LogConfig& loaded,
                                    const std::string& config_path);

// Logs each [log] setting that the published reload changed, from what to what. Control thread.
void log_applied_log_changes(const config::LogConfig& before, const config::LogConfig& after);

}  // namespace ringlb
