#!/usr/bin/env bash
# Installs everything ringlb needs to build, test and demo, from Debian 12 packages only.
# systemd and man-db: tests/packaging runs systemd-analyze, -sysusers, -tmpfiles and man.
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
  nlohmann-json3-dev \
  python3 curl procps valgrind openssl \
  systemd man-db \
  clang libclang-rt-14-dev  # RINGLB_FUZZ=ON: libFuzzer and its sanitizer runtimes
if [ "${1:-}" = "--bench" ]; then
  $SUDO apt-get install -y -qq --no-install-recommends \
    wrk haproxy nginx libnginx-mod-stream gnuplot-nox nghttp2-client testssl.sh
fi
