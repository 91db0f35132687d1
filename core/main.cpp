// ringlb's entry point: parse the command line and hand over to the action it names.
#include <cstdio>

#include "core/cli.hpp"
#include "core/explain.hpp"
#include "core/server.hpp"

int main(int argc, char** argv) {
  int exit_code = 0;
  std::optional<ringlb::CommandLine> command = ringlb::parse_command_line(argc, argv, exit_code);
  if (!command) return exit_code;
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
