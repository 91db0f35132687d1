// The control thread: loads the configuration, starts the workers, and turns signals into
// reloads and graceful stops (README.md, "Command line").
#pragma once

#include <signal.h>

#include <string>

namespace ringlb {

// Blocks SIGHUP, SIGTERM, SIGINT and SIGUSR1 in the calling thread and returns the mask it had.
// core/main.cpp calls it before anything else (before the libraries initialise, any thread
// exists or the configuration loads), so such a signal that comes during start-up stays pending
// for the control thread's signalfd instead of killing the process by its default action.
// Threads started later inherit the mask.
sigset_t block_control_signals();

// `ringlb --check -c FILE`: prints every problem as FILE:LINE:COL: message. Returns the exit code.
int check_config(const std::string& path);

// `ringlb -c FILE`: runs in the foreground until stopped. Returns the exit code: 0 clean stop,
// 1 bad configuration, 2 could not start.
int run_server(const std::string& path);

}  // namespace ringlb
