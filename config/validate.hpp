// Internal to config/: the checks that look across the parsed configuration (references between
// sections, conflicts between listeners), and the pieces the loader shares with them.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "config/diagnostic.hpp"
#include "config/loader.hpp"

namespace ringlb::config {

// Where each value was written, keyed by its TOML path: "runtime.workers", "listeners.web.bind",
// "pools.app.backends[1].address". Tables and arrays map to where they open.
using SourceMap = std::unordered_map<std::string, SourcePosition>;

// The position recorded for `path`, or `fallback` when the value was not written.
SourcePosition position_of(const SourceMap& sources, const std::string& path,
                           SourcePosition fallback);

// Collects diagnostics for one file; take() hands them back sorted by position.
class Reporter {
 public:
  explicit Reporter(std::string file) : file_(std::move(file)) {}

  void error(SourcePosition at, std::string message);
  void warning(SourcePosition at, std::string message);
  std::vector<Diagnostic> take();

 private:
  void add(Severity severity, SourcePosition at, std::string message);

  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

// "'KEY' must be \"a\", \"b\" or \"c\", not \"VALUE\"", plus a did-you-mean when one is close.
std::string not_one_of(const std::string& key, const std::vector<std::string>& choices,
                       const std::string& value);

// Cross-section checks on a configuration the loader has filled in as far as it could. Values
// the loader could not read are left at their defaults and skipped here, so one mistake is
// reported once.
void validate_config(const Config& config, const SourceMap& sources, const LoadOptions& options,
                     Reporter& report);

}  // namespace ringlb::config
