// CLI11 parsing and the --version report.
#include "core/cli.hpp"

#include <openssl/crypto.h>

#include <CLI/CLI.hpp>
#include <boost/version.hpp>

#include "core/uring_support.hpp"

#ifndef RINGLB_VERSION
#define RINGLB_VERSION "dev"
#endif
#ifndef RINGLB_LIBURING_VERSION
#define RINGLB_LIBURING_VERSION "unknown"
#endif

namespace ringlb {

std::optional<CommandLine> parse_command_line(int argc, char** argv, int& exit_code) {
  CLI::App app{"ringlb: an io_uring layer-4/layer-7 load balancer", "ringlb"};
  CommandLine command;
  bool check = false;
  bool version = false;
  app.add_option("-c,--config", command.config_path, "configuration file (TOML)")
      ->check(CLI::ExistingFile);
  app.add_flag("--check", check, "validate the configuration, print every problem, and exit");
  app.add_flag("--version", version, "print versions and io_uring support, and exit");
  app.footer(
      "Signals: SIGHUP reloads the configuration, SIGTERM/SIGINT stop gracefully (a second "
      "one stops at once).\nExit codes: 0 clean stop, 1 bad configuration or command line, "
      "2 could not start.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    exit_code = app.exit(error) == 0 ? 0 : 1;
    return std::nullopt;
  }
  if (version) {
    command.action = CommandLine::Action::kVersion;
    return command;
  }
  if (command.config_path.empty()) {
    std::fputs("ringlb: -c FILE is required (see ringlb --help)\n", stderr);
    exit_code = 1;
    return std::nullopt;
  }
  command.action = check ? CommandLine::Action::kCheck : CommandLine::Action::kRun;
  return command;
}

std::string version_text() {
  std::string text = "ringlb " RINGLB_VERSION "\n";
  text += "compiler: " __VERSION__ "\n";
  text += "liburing " RINGLB_LIBURING_VERSION "\n";
  text += std::string(OpenSSL_version(OPENSSL_VERSION)) + "\n";
  text += "Boost " BOOST_LIB_VERSION "\n";
  text += describe_io_uring_support() + "\n";
  return text;
}

}  // namespace ringlb
