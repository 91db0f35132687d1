// ringlb's entry point: parse the command line and hand over to the action it names.
#include <pthread.h>

#include <cstdio>

#include "core/cli.hpp"
#include "core/explain.hpp"
#include "core/server.hpp"

namespace {

sigset_t inherited_signal_mask;  // what ringlb was started with, restored for one-shot commands
bool control_signals_blocked = false;

// A SIGHUP (or SIGTERM) that comes while ringlb starts must wait for the server's signalfd, not
// kill the process by its default action. Blocked before anything else runs: see below.
void block_control_signals_at_start(int /*argc*/, char** /*argv*/, char** /*envp*/) {
  inherited_signal_mask = ringlb::block_control_signals();
  control_signals_blocked = true;
}

// The loader runs the executable's .preinit_array before any shared library's constructor
// (libcrypto, libsystemd, libstdc++ take tens of milliseconds on a loaded machine), which leaves
// only the kernel's exec and the loader's own mapping as the window where a signal can kill.
[[gnu::section(".preinit_array"),
  gnu::used]] void (*const kBlockAtStart)(int, char**, char**) = &block_control_signals_at_start;

}  // namespace

int main(int argc, char** argv) {
  if (!control_signals_blocked) block_control_signals_at_start(argc, argv, nullptr);
  int exit_code = 0;
  std::optional<ringlb::CommandLine> command = ringlb::parse_command_line(argc, argv, exit_code);
  if (!command) return exit_code;
  if (command->action != ringlb::CommandLine::Action::kRun) {
    pthread_sigmask(SIG_SETMASK, &inherited_signal_mask, nullptr);
  }
  switch (command->action) {
    case ringlb::CommandLine::Action::kVersion:
      std::fputs(ringlb::version_text().c_str(), stdout);
      return 0;
    case ringlb::CommandLine::Action::kCheck:
      return ringlb::check_config(command->config_path);
    case ringlb::CommandLine::Action::kRun:
      return ringlb::run_server(command->config_path);
    case ringlb::CommandLine::Action::kExplain:
      return ringlb::explain_command(command->config_path, command->pool, command->key);
    case ringlb::CommandLine::Action::kSimulate:
      return ringlb::simulate_command(command->config_path, command->pool, command->remove,
                                      command->keys);
  }
  return 1;
}
