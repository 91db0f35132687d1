// The command line (README.md, "Command line"): what the user asked for, parsed with CLI11.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ringlb {

struct CommandLine {
  enum class Action { kRun, kCheck, kVersion, kExplain, kSimulate };
  Action action = Action::kRun;
  std::string config_path;
  std::string pool;        // explain, simulate
  std::string key;         // explain
  std::string remove;      // simulate: the backend address taken out
  uint64_t keys = 100000;  // simulate: how many sample keys
};

// The parsed command line, or the exit code to leave with (0 after --help, 1 on a usage error;
// CLI11 has already printed the message).
std::optional<CommandLine> parse_command_line(int argc, char** argv, int& exit_code);

// The --version text: ringlb, compiler, library versions, io_uring support on this kernel.
std::string version_text();

}  // namespace ringlb
