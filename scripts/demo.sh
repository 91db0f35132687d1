#!/usr/bin/env bash
# Runs ringlb on config/example.toml in front of two demo backends (127.0.0.1:9001, :9002).
# Try it from another terminal: curl localhost:8080
set -euo pipefail
cd "$(dirname "$0")/.."
config=config/example.toml
cleanup() {
  kill "$backends" 2>/dev/null || true
  if [ "$config" != config/example.toml ]; then rm -f "$config"; fi
}
if [ "$(id -u)" -eq 0 ]; then
  # As root ringlb refuses to start without runtime.user: the demo binds as root, then
  # switches to nobody (every file it needs is opened before the switch).
  config=$(mktemp --suffix=.toml)
  sed 's/^\[runtime\]$/[runtime]\nuser = "nobody"/' config/example.toml >"$config"
fi
python3 scripts/demo_backends.py 9001 9002 &
backends=$!
trap cleanup EXIT
exec_status=0
./build/ringlb -c "$config" || exec_status=$?
exit $exec_status
