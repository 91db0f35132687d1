// The one seam of the bench-only levers (bench/levers): reads the RINGLB_LEVER_* environment
// variables into a Tuning (core/io/tuning.hpp), which the server hands to the data path.
// Production never sets them, and with none set ringlb runs exactly Tuning's defaults.
#pragma once

#include "core/io/tuning.hpp"

namespace ringlb {

// The process's tuning, read from the environment on the first call (made at start-up, before
// any worker exists); afterwards a plain read. Safe from any thread.
const Tuning& tuning_from_levers();

}  // namespace ringlb
