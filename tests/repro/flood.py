#!/usr/bin/env python3
"""h2load floods through ringlb (RINGLB_BIN) with a tiny buffer ring (BUFS, default 2) to a fast
backend (a second ringlb's admin, closing after each response, or KEEP=1: the probe's python
keep-alive backend is too slow, so the admin it is). Prints h2load's summary, then ringlb's idle
CPU, fds and RSS. Usage: tests/repro/flood.py "h2load args..." (URL appended)."""
import os, re, signal, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import HOST, free_port, runtime_user_lines
from http_proxy_config import http_config
from test_keep_alive_empty_ring import backend_config

BIN = os.environ["RINGLB_BIN"]
tmp = tempfile.mkdtemp(prefix="a21f-"); os.chmod(tmp, 0o755)
aport, iport, port = free_port(), free_port(), free_port()
open(tmp + "/b.toml", "w").write(backend_config(aport, iport))
KA = os.environ.get("NGINX_KA", "75s")
if os.environ.get("NGINX"):  # NGINX=1: nginx, keep-alive, 16 KiB at /big, 10 ms at /slow
    os.mkdir(tmp + "/nx")
    open(tmp + "/nx.conf", "w").write(f"""worker_processes 1; daemon off; pid {tmp}/nx.pid;
error_log {tmp}/nx.err; events {{ worker_connections 16384; }}
http {{ access_log off; keepalive_requests 1000000; keepalive_timeout {KA}; client_body_temp_path {tmp}/nx;
  server {{ listen {HOST}:{aport} backlog=4096; root {tmp}/nx;
    location = /ready {{ return 200 "ready\\n"; }}
    location = /post {{ client_max_body_size 10m; client_body_buffer_size 10m; return 200 "posted\\n"; }}
    location = /upload {{ client_max_body_size 2m; client_body_buffer_size 2m; mirror /sink;
      mirror_request_body on; log_not_found off; error_page 404 =200 /stored; }}
    location = /sink {{ internal; return 204; }}
    location = /stored {{ internal; return 200 "stored\\n"; }} }} }}
""")
    open(tmp + "/nx/big", "wb").write(b"b" * 300000)
    if os.environ.get("TLS"):  # TLS=1: nginx speaks TLS, ringlb's pool too (verify off)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-keyout", tmp + "/k.pem", "-out", tmp + "/c.pem"],
                       capture_output=True, check=True)
        conf = open(tmp + "/nx.conf").read().replace(
            f"listen {HOST}:{aport} backlog=4096;",
            f"listen {HOST}:{aport} ssl backlog=4096; ssl_certificate {tmp}/c.pem; "
            f"ssl_certificate_key {tmp}/k.pem; ssl_session_tickets off;")
        open(tmp + "/nx.conf", "w").write(conf)
    back = subprocess.Popen(["nginx", "-c", tmp + "/nx.conf", "-e", tmp + "/nx.err"])
else:
    back = subprocess.Popen([BIN, "-c", tmp + "/b.toml"], stdout=subprocess.DEVNULL,
                            stderr=open(tmp + "/b.err", "w"))
open(tmp + "/f.toml", "w").write(http_config(port, [aport], access_log=os.environ.get("ACCESS", "off"), workers=int(os.environ.get("WORKERS", "1"))))
if os.environ.get("TLS"):
    open(tmp + "/f.toml", "a").write("\n[pools.app.tls]\nverify = false\n")
front = subprocess.Popen([BIN, "-c", tmp + "/f.toml"], stdout=subprocess.DEVNULL,
                         stderr=open(tmp + "/f.err", "w"),
                         env={**os.environ, "RINGLB_LEVER_RECEIVE_BUFFERS": os.environ.get("BUFS", "2")})
for p in (aport, port):
    for _ in range(100):
        try:
            socket.create_connection((HOST, p)).close(); break
        except OSError:
            time.sleep(0.05)
def cpu(pid):
    parts = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])
try:
    if os.environ.get("EARLY"):  # run early.py against the front instead of h2load
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "early.py"), str(port)])
    for args in sys.argv[1:]:
        path = os.environ.get("URLPATH", "/ready")
        run = subprocess.run(["h2load", *args.split(), f"http://{HOST}:{port}{path}"],
                             capture_output=True, text=True, timeout=120)
        line = [l for l in run.stdout.splitlines() if l.startswith("requests:")]
        print(args, "->", line, run.stderr[-300:] if not line or os.environ.get("VERBOSE") else "")
        time.sleep(float(os.environ.get("PAUSE", "1")))
        c0 = cpu(front.pid); time.sleep(2); c1 = cpu(front.pid)
        fds = len(os.listdir(f"/proc/{front.pid}/fd"))
        rss = [l for l in open(f"/proc/{front.pid}/status") if l.startswith("VmRSS")][0].split()[1]
        print(f"   idle cpu {(c1 - c0) / 2:.0f} ticks/s; fds {fds}; rss {rss} kB")
finally:
    for p in (front, back):
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            print("no exit on SIGTERM", p.pid); p.kill()
    print("logs", tmp, "front exit", front.returncode)
