#!/usr/bin/env bash
# Builds ringlb and runs the whole test suite (unit and integration) with ctest.
# Extra arguments go to cmake, e.g. -DRINGLB_SANITIZE="address;undefined" (use BUILD_DIR to keep builds apart).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
scripts/build.sh "$@"
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 300
