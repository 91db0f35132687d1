// Settings this build accepts in the file but does not act on yet. Every message about a
// missing feature lives here, so finishing a feature means deleting a few lines of this file.
#include "config/unimplemented.hpp"

namespace ringlb::config {
namespace {

// ---- The messages, one per missing feature. -------------------------------------------------
constexpr const char* kTlsUnsupported = "TLS is not supported yet in this build";
constexpr const char* kHttpsUnsupported =
    "TLS on http listeners is not supported yet in this build (tcp listeners have it)";
constexpr const char* kAdminPending = "the admin API is not implemented yet in this build";
// -----------------------------------------------------------------------------------------------

}  // namespace

void report_unimplemented_features(const Config& config, const SourceMap& sources,
                                   Reporter& report) {
  if (config.admin.listen) report.warning(position_of(sources, "admin.listen", {}), kAdminPending);
  for (const ListenerConfig& listener : config.listeners) {
    if (!listener.tls || listener.protocol != Protocol::kHttp) continue;
    std::string path = "listeners." + listener.name + ".tls";
    report.error(position_of(sources, path, listener.position), kHttpsUnsupported);
  }
  for (const PoolConfig& pool : config.pools) {
    std::string path = "pools." + pool.name;
    if (pool.tls) report.error(position_of(sources, path + ".tls", pool.position), kTlsUnsupported);
  }
}

}  // namespace ringlb::config
