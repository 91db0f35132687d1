// load_backends_file: the `backends = [...]` of a pool, from a file of its own.
#include "config/backends_file.hpp"

#include <toml++/toml.h>

#include <unordered_map>

#include "config/file_read.hpp"
#include "config/load_sections.hpp"

namespace ringlb::config {
namespace {

using detail::Context;
using detail::read_backend;
using detail::read_entries;
using detail::Section;

// One pass with a map, not a pair loop: a file of 100,000 backends must not cost 10^10 steps.
void check_duplicates(const std::vector<BackendConfig>& backends, Reporter& report) {
  std::unordered_map<std::string, uint32_t> first_line;
  for (const BackendConfig& backend : backends) {
    const std::string address = backend.address.to_string();
    auto [it, inserted] = first_line.try_emplace(address, backend.position.line);
    if (inserted) continue;
    report.error(backend.position, "duplicate backend '" + address + "' (first at line " +
                                       std::to_string(it->second) + ")");
  }
}

BackendsFileResult parse(const std::string& text, const std::string& path) {
  Reporter report(path);
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    report.error(detail::position(error.source().begin),
                 "TOML syntax error: " + std::string(error.description()));
    return {std::nullopt, report.take()};
  }
  SourceMap sources;
  Context context{report, sources};
  Section root(table, "", context);
  std::vector<BackendConfig> backends;
  read_entries(root, "backends", "{ address = \"10.0.0.1:8080\" }",
               [&](Section& entry) { backends.push_back(read_backend(entry)); });
  root.require("backends", "a backends_file holds 'backends = [ { address = \"...\" }, ... ]'");
  root.finish();
  check_duplicates(backends, report);
  BackendsFileResult result;
  result.diagnostics = report.take();
  if (!has_errors(result.diagnostics)) result.backends = std::move(backends);
  return result;
}

std::string resolved_against(const std::string& config_path, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  const size_t slash = config_path.rfind('/');
  return slash == std::string::npos ? path : config_path.substr(0, slash + 1) + path;
}

}  // namespace

BackendsFileResult load_backends_file(const std::string& path) {
  try {
    std::string why;
    std::optional<FileBytes> file = read_regular_file(path, why);
    if (!file) {
      return {std::nullopt, {Diagnostic{Severity::kError, path, 0, 0, "cannot read: " + why}}};
    }
    return parse(file->bytes, path);
  } catch (const std::exception& error) {
    return {std::nullopt,
            {Diagnostic{Severity::kError, path, 0, 0,
                        std::string("internal error while loading: ") + error.what()}}};
  }
}

void load_backends_files(Config& config, std::vector<Diagnostic>& diagnostics) {
  for (PoolConfig& pool : config.pools) {
    if (pool.backends_file.empty()) continue;
    pool.backends_file = resolved_against(config.path, pool.backends_file);
    BackendsFileResult result = load_backends_file(pool.backends_file);
    if (result.backends) pool.file_backends = std::move(*result.backends);
    if (!result.backends && !result.diagnostics.empty() && result.diagnostics[0].line == 0) {
      // An unreadable file is reported where the main file names it, too.
      diagnostics.push_back(
          Diagnostic{Severity::kError, config.path, pool.backends_file_position.line,
                     pool.backends_file_position.column,
                     "pool '" + pool.name + "': backends_file " + pool.backends_file + ": " +
                         result.diagnostics[0].message});
      continue;
    }
    for (Diagnostic& diagnostic : result.diagnostics) diagnostics.push_back(std::move(diagnostic));
  }
}

}  // namespace ringlb::config
