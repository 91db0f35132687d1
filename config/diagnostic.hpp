// A problem found in a configuration file, printed as `FILE:LINE:COLUMN: message` like a
// compiler, so editors and humans can jump to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringlb::config {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  uint32_t line = 0;  // 1-based; 0 when the problem has no position (file unreadable)
  uint32_t column = 0;
  std::string message;

  // "FILE:LINE:COL: message" for errors, "FILE:LINE:COL: warning: message" for warnings;
  // "FILE: message" when line is 0.
  std::string to_string() const;
};

bool has_errors(const std::vector<Diagnostic>& diagnostics);

}  // namespace ringlb::config
