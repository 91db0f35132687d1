#!/usr/bin/env bash
# RSS of ringlb (workers = 1) holding N idle client connections, on an L4 listener (each
# tunnelled to an nginx backend) or on an HTTP listener (each after one keep-alive request).
# Prints RSS before and after, and the difference per connection.
# Usage: bench/idle_rss.sh [N] [tcp|http]   (needs build/ringlb and nginx)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5000}
mode=${2:-tcp}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.2; rm -rf "$work"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 20000; }
http { access_log off; keepalive_timeout 600s;
  server { listen 127.0.0.1:19211; location / { return 200 "hello\n"; } } }
NGINX
cat > "$work/ringlb.toml" <<TOML
[runtime]
workers = 1
user = "$(id -un)"
[log]
access = "off"
[listeners.l4]
bind = "127.0.0.1:19310"
protocol = "$mode"
pool = "app"
  [listeners.l4.timeouts]
  client_idle = "10m"
[pools.app]
backends = [ { address = "127.0.0.1:19211" } ]
TOML
nginx -c "$work/nginx.conf" &
./build/ringlb -c "$work/ringlb.toml" 2>"$work/ringlb.err" &
pid=$!
sleep 1
python3 - "$pid" "$count" "$mode" <<'PY'
import socket, sys, time
pid, count, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
# Warm up before the baseline: 2000 short connections cycle through every provided receive
# buffer and the ring's queues once, so their fixed cost is not charged to the idle connections.
for _ in range(2000):
    s = socket.create_connection(("127.0.0.1", 19310))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    while s.recv(4096):
        pass
    s.close()
time.sleep(0.5)
before = rss_kib()
conns = [socket.create_connection(("127.0.0.1", 19310)) for _ in range(count)]
if mode == "http":  # one request each, so every connection is an idle keep-alive one
    for c in conns:
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200" in c.recv(4096)
time.sleep(2)
after = rss_kib()
# Prove the tunnels are live: one request on the last connection.
conns[-1].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); assert b"200" in conns[-1].recv(200)
print(f"{count} idle {mode} connections: RSS {before} KiB -> {after} KiB, "
      f"{(after - before) * 1024 / count:.0f} bytes per connection (user space)")
PY
