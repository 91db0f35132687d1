// Reads a TOML configuration into the config structs, reporting every problem with its
// file:line:col. toml++ is included only here and in the readers it calls (toml_section,
// load_*.cpp; docs/architecture.md): the parse is here, the checks across sections are in
// validate.cpp.
#include "config/loader.hpp"

#include <toml++/toml.h>

#include "config/backends_file.hpp"
#include "config/file_read.hpp"
#include "config/load_sections.hpp"
#include "config/tls_files.hpp"
#include "config/units.hpp"
#include "config/validate.hpp"

namespace ringlb::config {
namespace {

using detail::Context;
using detail::position;
using detail::read_listener;
using detail::read_named;
using detail::read_pool;
using detail::read_section;
using detail::Section;

void read_runtime(Section& section, RuntimeConfig& runtime) {
  section.read_integer("workers", 0, runtime.workers, 1024);
  section.read_integer("max_connections", 1, runtime.max_connections);
  section.read_integer("max_tls_handshakes_per_second", 0, runtime.max_tls_handshakes_per_second,
                       1000000000);
  section.read_duration("grace_period", runtime.grace_period, /*allow_zero=*/true);
  section.read_string("user", runtime.user);
  runtime.user_position = section.at("user");
}

void read_admin(Section& section, AdminConfig& admin) {
  admin.listen = section.read_address("listen");
  section.read_string("token", admin.token);
}

void read_log(Section& section, LogConfig& log) {
  // The word lists are in enum order.
  if (auto level = section.read_choice("level", {"error", "warn", "info", "debug"})) {
    log.level = static_cast<LogLevel>(*level);
  }
  section.read_string("access", log.access, /*allow_empty=*/false);
  log.access_position = section.at("access");
  if (auto format = section.read_choice("format", {"text", "json"})) {
    log.format = static_cast<LogFormat>(*format);
  }
}

void read_root(Section& root, Config& config) {
  read_section(root, "runtime", [&](Section& s) { read_runtime(s, config.runtime); });
  read_section(root, "admin", [&](Section& s) { read_admin(s, config.admin); });
  read_section(root, "log", [&](Section& s) { read_log(s, config.log); });
  read_named(root, "listeners", "listener",
             [&](Section& s, const std::string& name) { read_listener(s, name, config); });
  read_named(root, "pools", "pool",
             [&](Section& s, const std::string& name) { read_pool(s, name, config); });
  // Only when nothing else explains it: a mistyped [listeners] has its own diagnostic.
  const toml::node* listeners = root.peek("listeners");
  bool none_written =
      listeners == nullptr || (listeners->is_table() && listeners->as_table()->empty());
  if (config.listeners.empty() && none_written) {
    root.error(listeners == nullptr ? SourcePosition{1, 1} : position(*listeners),
               "the configuration has no listeners; add a [listeners.NAME] section");
  }
}

LoadResult failure(const std::string& path, std::string message) {
  LoadResult result;
  result.diagnostics.push_back(Diagnostic{Severity::kError, path, 0, 0, std::move(message)});
  return result;
}

LoadResult load_parsed(const toml::table& table, const std::string& path,
                       const LoadOptions& options) {
  Reporter report(path);
  SourceMap sources;
  Context context{report, sources};
  Config config;
  config.path = path;
  Section root(table, "", context);
  read_root(root, config);
  root.finish();
  validate_config(config, sources, options, report);
  resolve_tls_paths(config);
  check_tls_files(config, sources, report);
  LoadResult result;
  result.diagnostics = report.take();
  if (!has_errors(result.diagnostics)) result.config = std::move(config);
  return result;
}

LoadResult load_text(std::string_view text, const std::string& path, const LoadOptions& options) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    Reporter report(path);
    report.error(position(error.source().begin),
                 "TOML syntax error: " + std::string(error.description()));
    return LoadResult{std::nullopt, report.take()};
  }
  return load_parsed(table, path, options);
}

// The access log a file names must be one the server can open without waiting: a FIFO, a
// directory or a missing directory is refused here, with its position, as it would fail the
// start (or hang it) later. Only for a file read from disk, whose paths mean something here.
void check_access_log_file(LoadResult& result) {
  const LogConfig& log = result.config->log;
  if (log.access == "stdout" || log.access == "off") return;
  const std::string problem = access_log_problem(log.access);
  if (problem.empty()) return;
  result.diagnostics.push_back(Diagnostic{Severity::kError, result.config->path,
                                          log.access_position.line, log.access_position.column,
                                          "log.access " + log.access + ": " + problem});
  result.config.reset();
}

}  // namespace

LoadResult load_config_text(std::string_view text, const std::string& path,
                            const LoadOptions& options) {
  try {
    return load_text(text, path, options);
  } catch (const std::exception& error) {
    return failure(path, std::string("internal error while loading: ") + error.what());
  } catch (...) {
    return failure(path, "internal error while loading: unknown exception");
  }
}

LoadResult load_config_file(const std::string& path, const LoadOptions& options) {
  try {
    std::string why;
    std::optional<FileBytes> file = read_regular_file(path, why);
    if (!file) return failure(path, "cannot read " + path + ": " + why);
    LoadResult result = load_config_text(file->bytes, path, options);
    if (result.config) check_access_log_file(result);
    if (result.config) {
      load_backends_files(*result.config, result.diagnostics);
      if (has_errors(result.diagnostics)) result.config.reset();
    }
    return result;
  } catch (const std::exception& error) {
    return failure(path, std::string("internal error while loading: ") + error.what());
  } catch (...) {
    return failure(path, "internal error while loading: unknown exception");
  }
}

}  // namespace ringlb::config
