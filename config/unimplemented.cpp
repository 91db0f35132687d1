// Settings this build accepts in the file but does not act on yet. Every message about a
// missing feature lives here, so finishing a feature means deleting a few lines of this file.
#include "config/unimplemented.hpp"

namespace ringlb::config {
namespace {

// ---- The messages, one per missing feature. -------------------------------------------------
constexpr const char* kAdminPending = "the admin API is not implemented yet in this build";
constexpr const char* kTlsHealthChecksPending =
    "http health checks do not speak TLS yet in this build, so they would fail against this "
    "TLS pool; use check = \"tcp\" (or \"none\")";
// -----------------------------------------------------------------------------------------------

}  // namespace

void report_unimplemented_features(const Config& config, const SourceMap& sources,
                                   Reporter& report) {
  if (config.admin.listen) report.warning(position_of(sources, "admin.listen", {}), kAdminPending);
  for (const PoolConfig& pool : config.pools) {
    if (!pool.tls || !pool.health || pool.health->check != "http") continue;
    const std::string path = "pools." + pool.name + ".health";
    report.error(position_of(sources, path + ".check", position_of(sources, path, pool.position)),
                 kTlsHealthChecksPending);
  }
}

}  // namespace ringlb::config
