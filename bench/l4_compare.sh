#!/usr/bin/env bash
# Side-by-side L4 throughput: wrk -c64 through ringlb (workers = 1) and HAProxy (mode tcp,
# nbthread 1) in front of the same two nginx backends, in interleaved rounds, with each proxy's
# CPU time read from /proc. A first cut; issue 8's bench/compare generalises it.
# Usage: bench/l4_compare.sh [ROUNDS] [SECONDS]   (needs build/ringlb, wrk, haproxy, nginx)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-10}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.2; rm -rf "$work"' EXIT

cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:19201; location / { return 200 "hello from backend 1\n"; } }
  server { listen 127.0.0.1:19202; location / { return 200 "hello from backend 2\n"; } }
}
NGINX
cat > "$work/ringlb.toml" <<TOML
[runtime]
workers = 1
[log]
access = "off"
[listeners.l4]
bind = "127.0.0.1:19300"
protocol = "tcp"
pool = "app"
[pools.app]
backends = [ { address = "127.0.0.1:19201" }, { address = "127.0.0.1:19202" } ]
TOML
cat > "$work/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 4096
defaults
  mode tcp
  timeout connect 3s
  timeout client 60s
  timeout server 60s
frontend l4
  bind 127.0.0.1:19301
  default_backend app
backend app
  balance roundrobin
  server b1 127.0.0.1:19201
  server b2 127.0.0.1:19202
HAP

nginx -c "$work/nginx.conf" &
./build/ringlb -c "$work/ringlb.toml" 2>"$work/ringlb.err" &
ringlb_pid=$!
haproxy -f "$work/haproxy.cfg" -db 2>"$work/haproxy.err" &
haproxy_pid=$!
sleep 1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

run() {  # name port pid
  local before after out rps p99
  before=$(cpu_ticks "$3")
  out=$(wrk -t1 -c64 -d"${seconds}s" --latency "http://127.0.0.1:$2/")
  after=$(cpu_ticks "$3")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(grep -c 'Socket errors\|Non-2xx' <<<"$out" || true)
  local requests
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  local cpu_us=$(( (after - before) * 1000000 / hz ))
  printf '%-8s %10s req/s  p99 %8s  cpu %6.1f us/req  error-lines %s\n' "$1" "$rps" "$p99" \
    "$(echo "$cpu_us / $requests" | bc -l)" "$errors"
}

echo "direct:"; run nginx 19201 "$(cat "$work/nginx.pid")"
for round in $(seq "$rounds"); do
  echo "round $round:"
  run ringlb 19300 "$ringlb_pid"
  run haproxy 19301 "$haproxy_pid"
done
