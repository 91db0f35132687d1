// Internal to config/: the one place that lists what this build parses but does not do yet.
// When a feature lands, delete its check in unimplemented.cpp (and its test).
#pragma once

#include "config/config.hpp"
#include "config/loader.hpp"
#include "config/validate.hpp"

namespace ringlb::config {

// Warns about settings that parse but have no effect yet, and refuses those that would silently
// weaken what the user asked for.
void report_unimplemented_features(const Config& config, const SourceMap& sources,
                                   Reporter& report);

}  // namespace ringlb::config
