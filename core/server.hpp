// The control thread: loads the configuration, starts the workers, and turns signals into
// reloads and graceful stops (spec.md, "Signals").
#pragma once

#include <string>

namespace ringlb {

// `ringlb --check -c FILE`: prints every problem as FILE:LINE:COL: message. Returns the exit code.
int check_config(const std::string& path);

// `ringlb -c FILE`: runs in the foreground until stopped. Returns the exit code: 0 clean stop,
// 1 bad configuration, 2 could not start.
int run_server(const std::string& path);

}  // namespace ringlb
