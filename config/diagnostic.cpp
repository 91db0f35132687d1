// Printing diagnostics the way compilers do, so editors can jump to them.
#include "config/diagnostic.hpp"

#include <algorithm>

namespace ringlb::config {

std::string Diagnostic::to_string() const {
  std::string text = file;
  if (line != 0) text += ":" + std::to_string(line) + ":" + std::to_string(column);
  text += ": ";
  if (severity == Severity::kWarning) text += "warning: ";
  return text + message;
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
  return std::any_of(diagnostics.begin(), diagnostics.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

}  // namespace ringlb::config
