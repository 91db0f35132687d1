// CLI11 parsing and the --version report.
#include "core/cli.hpp"

#include <openssl/crypto.h>

#include <CLI/CLI.hpp>

#include "core/http/http_parser.hpp"
#include "core/uring_support.hpp"

#ifndef RINGLB_VERSION
#define RINGLB_VERSION "dev"
#endif
#ifndef RINGLB_LIBURING_VERSION
#define RINGLB_LIBURING_VERSION "unknown"
#endif

namespace ringlb {

namespace {

void add_config_option(CLI::App& app, CommandLine& command) {
  app.add_option("-c,--config", command.config_path, "configuration file (TOML)")
      ->check(CLI::ExistingFile);
}

CLI::App* add_explain(CLI::App& app, CommandLine& command) {
  CLI::App* explain = app.add_subcommand(
      "explain", "print which backend KEY maps to in a pool, and why (reads FILE only)");
  add_config_option(*explain, command);
  explain->add_option("--pool", command.pool, "the pool, as in [pools.NAME]")->required();
  explain
      ->add_option("--key", command.key,
                   "an IP address for hash_key = \"client_ip\"; else the header value, cookie "
                   "value or request target")
      ->required();
  return explain;
}

CLI::App* add_simulate(CLI::App& app, CommandLine& command) {
  CLI::App* simulate = app.add_subcommand(
      "simulate",
      "print the share of sample keys that move when a backend leaves a hashing pool, and the "
      "keys per backend before and after");
  add_config_option(*simulate, command);
  simulate->add_option("--pool", command.pool, "the pool, as in [pools.NAME]")->required();
  simulate->add_option("--remove", command.remove, "the backend taken out, HOST:PORT")->required();
  simulate->add_option("--keys", command.keys, "how many sample keys (default 100000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{100000000}));
  return simulate;
}

}  // namespace

std::optional<CommandLine> parse_command_line(int argc, char** argv, int& exit_code) {
  CLI::App app{"ringlb: an io_uring layer-4/layer-7 load balancer", "ringlb"};
  CommandLine command;
  bool check = false;
  bool version = false;
  add_config_option(app, command);
  app.add_flag("--check", check, "validate the configuration, print every problem, and exit");
  app.add_flag("--version", version, "print versions and io_uring support, and exit");
  CLI::App* explain = add_explain(app, command);
  CLI::App* simulate = add_simulate(app, command);
  app.require_subcommand(0, 1);
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
  if (explain->parsed()) {
    command.action = CommandLine::Action::kExplain;
  } else if (simulate->parsed()) {
    command.action = CommandLine::Action::kSimulate;
  } else {
    command.action = check ? CommandLine::Action::kCheck : CommandLine::Action::kRun;
  }
  return command;
}

std::string version_text() {
  std::string text = "ringlb " RINGLB_VERSION "\n";
  text += "compiler: " __VERSION__ "\n";
  text += "liburing " RINGLB_LIBURING_VERSION "\n";
  text += std::string(OpenSSL_version(OPENSSL_VERSION)) + "\n";
  text += std::string(http::codec_library_version()) + "\n";
  text += describe_io_uring_support() + "\n";
  return text;
}

}  // namespace ringlb
