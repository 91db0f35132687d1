#!/usr/bin/env bash
# Runs ringlb on config/example.toml in front of two demo backends (127.0.0.1:9001, :9002).
# Try it from another terminal: curl localhost:8080
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/demo_backends.py 9001 9002 &
backends=$!
trap 'kill $backends 2>/dev/null || true' EXIT
exec_status=0
./build/ringlb -c config/example.toml || exec_status=$?
exit $exec_status
