#!/usr/bin/env bash
# Installs everything ringlb needs to build, test and demo, from Debian 12 packages only.
# systemd and man-db: tests/packaging runs systemd-analyze, -sysusers, -tmpfiles and man.
# chromium, fonts-liberation, Node.js 20+ and npm: tests/dashboard drives /dashboard in headless
# Chromium with playwright-core, which `npm ci` installs into tests/dashboard/node_modules.
# python3-h2 and nghttp2-client (h2load, nghttp): the HTTP/2 integration tests build frames with
# python3-h2 and its hyperframe, and bench/compare_h2 runs h2load.
# --bench also installs the peers and tools bench/compare runs (wrk, HAProxy, nginx, gnuplot).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config \
  liburing-dev libboost1.81-dev libssl-dev libtomlplusplus-dev \
  libgtest-dev libgmock-dev libbenchmark-dev libxxhash-dev libsystemd-dev libcli11-dev \
  libnghttp2-dev libc-ares-dev \
  nlohmann-json3-dev \
  python3 python3-h2 nghttp2-client curl procps valgrind openssl \
  systemd man-db \
  chromium fonts-liberation \
  clang libclang-rt-14-dev  # RINGLB_FUZZ=ON: libFuzzer and its sanitizer runtimes
# Debian's own nodejs and npm only when no Node.js is there: installing npm over another
# Node.js package (NodeSource's provides npm) would replace that Node.js with Debian's.
if ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm ci --prefix "$(dirname "$0")/../tests/dashboard" --no-audit --no-fund --loglevel=error
if [ "${1:-}" = "--bench" ]; then
  $SUDO apt-get install -y -qq --no-install-recommends \
    wrk haproxy nginx libnginx-mod-stream gnuplot-nox testssl.sh
fi
