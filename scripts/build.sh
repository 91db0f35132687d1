#!/usr/bin/env bash
# Configures and builds ringlb into build/ (or $BUILD_DIR), with -j2 as this project's machines have 2 cores.
# Extra arguments go to cmake, e.g. -DRINGLB_SANITIZE="address;undefined".
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DRINGLB_WERROR=ON "$@"
cmake --build "$build_dir" -j2
