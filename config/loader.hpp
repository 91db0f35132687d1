// Loads and validates a configuration file. The only entry point into config/ that touches
// toml++; it collects every problem it finds instead of stopping at the first.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/diagnostic.hpp"

namespace ringlb::config {

struct LoadOptions {
  // Balancer names this build knows (from balancers/registry); `balance` must be one of them.
  // Empty = any name is accepted (for callers that only read the file).
  std::vector<std::string> balancers;
  // The balancers that read `hash_key` (balancers/registry: names_needing_hash_key()): they
  // require one, and a pool feeding a tcp listener may then only hash client_ip.
  std::vector<std::string> hash_key_balancers = {"consistent_hash"};
};

struct LoadResult {
  std::optional<Config> config;  // set only when there are no errors (warnings are allowed)
  std::vector<Diagnostic> diagnostics;
};

// Reads `path`, parses it, and validates it. Blocks on file I/O; call it off the data path.
// Never throws: every problem, including an unreadable file, comes back as a diagnostic,
// sorted by position. Thread-safe (no shared state).
LoadResult load_config_file(const std::string& path, const LoadOptions& options);

// Same, from text already in memory; `path` is only used in diagnostics.
LoadResult load_config_text(std::string_view text, const std::string& path,
                            const LoadOptions& options);

}  // namespace ringlb::config
