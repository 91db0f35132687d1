// A pool's `backends_file` (spec.md, "Discovery"): a TOML file holding `backends = [...]` in the
// same form as a pool's inline list, validated as the main file is. Read at load (so `--check`,
// start and reload refuse a bad one) and again by the control thread when the file changes
// (core/discovery/backends_file_watch.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/diagnostic.hpp"

namespace ringlb::config {

struct BackendsFileResult {
  std::optional<std::vector<BackendConfig>> backends;  // set only when there are no errors
  std::vector<Diagnostic> diagnostics;                 // each with FILE:LINE:COL in `path`
};

// Reads and validates `path`. Never throws; blocks only on disk I/O (the file is at most
// kMaxConfigFileBytes, a regular file). An empty list is valid: the file's share is empty.
BackendsFileResult load_backends_file(const std::string& path);

// Reads every pool's backends_file of `config` into its file_backends (resolving the path against
// the configuration's directory), appending the problems to `diagnostics`.
void load_backends_files(Config& config, std::vector<Diagnostic>& diagnostics);

}  // namespace ringlb::config
