#!/usr/bin/env bash
# The CPU the health checker costs: ringlb (workers = 1) with one pool of N backends, each
# checked every `interval`, against one nginx listening on N ports. Prints ringlb's utime+stime
# over a window after a warm-up, for check = "none" (the baseline: an idle control loop), "tcp"
# and "http".
# Usage: bench/health_overhead.sh [N] [SECONDS] [INTERVAL]   (needs build/ringlb and nginx)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
window=${2:-30}
interval=${3:-1s}
ringlb=${RINGLB_BIN:-./build/ringlb}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.2; rm -rf "$work"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
first_port=21000
ticks=$(getconf CLK_TCK)
case $interval in
  *ms) interval_ms=${interval%ms} ;;
  *s) interval_ms=$((${interval%s} * 1000)) ;;
  *) echo "interval must be like 1s or 500ms" >&2; exit 1 ;;
esac

{
  echo "worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err;"
  echo "worker_rlimit_nofile 65536; events { worker_connections 20000; }"
  echo "http { access_log off; server {"
  for ((i = 0; i < count; i++)); do echo "  listen 127.0.0.1:$((first_port + i));"; done
  echo '  location / { return 200 "ok\n"; } } }'
} > "$work/nginx.conf"
nginx -c "$work/nginx.conf" &
sleep 1

cpu_ms() {  # utime + stime of $1, in ms
  awk -v t="$ticks" '{ print int(($14 + $15) * 1000 / t) }' "/proc/$1/stat"
}

for check in none tcp http; do
  {
    echo "[runtime]"; echo "workers = 1"; echo "user = \"$(id -un)\""
    echo "[log]"; echo 'access = "off"'
    echo "[listeners.web]"; echo "bind = \"127.0.0.1:$((first_port + count))\""; echo 'pool = "app"'
    echo "[pools.app]"; echo "backends = ["
    for ((i = 0; i < count; i++)); do echo "  { address = \"127.0.0.1:$((first_port + i))\" },"; done
    echo "]"
    echo "[pools.app.health]"; echo "check = \"$check\""
    if [[ $check != none ]]; then echo "interval = \"$interval\""; echo 'timeout = "500ms"'; fi
  } > "$work/ringlb.toml"
  "$ringlb" -c "$work/ringlb.toml" 2>"$work/ringlb.err" &
  pid=$!
  sleep 3  # past the first interval: every backend has been checked once
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/ringlb.err" >&2; exit 1; fi
  before=$(cpu_ms "$pid")
  sleep "$window"
  after=$(cpu_ms "$pid")
  downs=$(grep -c -- "-> down" "$work/ringlb.err" || true)
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  used=$((after - before))
  awk -v c="$check" -v u="$used" -v w="$window" -v n="$count" -v d="$downs" -v i="$interval_ms" \
    'BEGIN { checks = (c == "none") ? 0 : n * w * 1000 / i
      printf "check=%-4s backends=%d interval=%dms window=%ds cpu=%dms (%.2f%% of one core", c, n, i, w, u, u / (w * 10)
      if (checks > 0) printf ", %.1f us per check", u * 1000 / checks
      printf ") downs=%d\n", d }'
done
