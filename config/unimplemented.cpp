// Settings this build accepts in the file but does not act on yet. Every message about a
// missing feature lives here, so finishing a feature means deleting a few lines of this file.
#include "config/unimplemented.hpp"

namespace ringlb::config {
namespace {

// ---- The messages, one per missing feature. -------------------------------------------------
constexpr const char* kAdminPending = "the admin API is not implemented yet in this build";
// -----------------------------------------------------------------------------------------------

}  // namespace

void report_unimplemented_features(const Config& config, const SourceMap& sources,
                                   Reporter& report) {
  if (config.admin.listen) report.warning(position_of(sources, "admin.listen", {}), kAdminPending);
}

}  // namespace ringlb::config
