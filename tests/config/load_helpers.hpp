// Shared by the config/ tests: load TOML written line by line, so a test reads each expected
// line:col straight off its input, and compare diagnostics as printed.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace ringlb::config {

inline LoadOptions known_balancers() {
  return LoadOptions{{"round_robin", "least_connections", "consistent_hash", "random"}};
}

// One TOML line per element, so an element's index + 1 is its line number.
inline std::string join(std::initializer_list<std::string_view> lines) {
  std::string text;
  for (std::string_view line : lines) text.append(line).append("\n");
  return text;
}

inline LoadResult load(std::initializer_list<std::string_view> lines) {
  return load_config_text(join(lines), "test.toml", known_balancers());
}

// The given lines, then a small valid setup (a tcp listener 'web' on 127.0.0.1:8080 and a pool
// 'app' with one backend) on the six lines after them.
inline LoadResult load_before_base(std::initializer_list<std::string_view> lines) {
  std::string text = join(lines) + join({
                                       "[listeners.web]",
                                       "bind = \"127.0.0.1:8080\"",
                                       "protocol = \"tcp\"",
                                       "pool = \"app\"",
                                       "[pools.app]",
                                       "backends = [{ address = \"127.0.0.1:9001\" }]",
                                   });
  return load_config_text(text, "test.toml", known_balancers());
}

// The diagnostics a test expects, as printed.
template <typename... Line>
std::vector<std::string> expected(Line... lines) {
  return {std::string(lines)...};
}

inline std::vector<std::string> printed(const LoadResult& result) {
  std::vector<std::string> lines;
  for (const Diagnostic& diagnostic : result.diagnostics) lines.push_back(diagnostic.to_string());
  return lines;
}

}  // namespace ringlb::config
