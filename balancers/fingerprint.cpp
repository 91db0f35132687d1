// table_fingerprint: a stable hash, the same on every build and host (no std::hash).
#include "balancers/fingerprint.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace ringlb::balancers {

std::string table_fingerprint(const std::vector<config::BackendConfig>& backends) {
  std::vector<std::string> lines;
  lines.reserve(backends.size());
  for (const config::BackendConfig& backend : backends) {
    lines.push_back(backend.address.to_string() + " " + std::to_string(backend.weight) + "\n");
  }
  std::sort(lines.begin(), lines.end());
  uint64_t hash = 14695981039346656037ull;
  for (const std::string& line : lines) {
    for (const unsigned char byte : line) {
      hash ^= byte;
      hash *= 1099511628211ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace ringlb::balancers
