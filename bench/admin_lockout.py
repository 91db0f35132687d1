#!/usr/bin/env python3
"""Admin port under a slowloris (issue 15, item 5): can a prober still read /ready and /metrics?

N connections from 127.0.0.1 (the prober's own address) each send one byte every `--every`
seconds, never finishing a request, and are reopened when ringlb closes them. Meanwhile a prober
on a new connection asks GET /ready (and /metrics) `--probes` times, 0.25 s apart. Prints the
prober's latency (p50, max), its failures, and ringlb's CPU over the run.

Usage: bench/admin_lockout.py [--connections 200] [--every 5] [--probes 20]
       (needs build/ringlb; RINGLB_BIN overrides)
"""
import argparse
import http.client
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from harness import HOST, Ringlb, free_port, runtime_user_lines, wait_until  # noqa: E402


def config(port, admin_port):
    return "\n".join([
        "[runtime]", "workers = 1", *runtime_user_lines(),
        "[admin]", f'listen = "{HOST}:{admin_port}"',
        "[log]", 'access = "off"',
        "[listeners.web]", f'bind = "{HOST}:{port}"', 'pool = "app"',
        "[pools.app]", f'backends = [ {{ address = "{HOST}:9" }} ]',
    ]) + "\n"


def probe(admin_port, path):
    start = time.monotonic()
    conn = http.client.HTTPConnection(HOST, admin_port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - start
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__, time.monotonic() - start
    finally:
        conn.close()


def trickle(admin_port, count, every, stop):
    """Keeps `count` connections open, each sending a byte every `every` seconds."""
    socks = []
    while not stop.is_set():
        while len(socks) < count:
            try:
                socks.append(socket.create_connection((HOST, admin_port), timeout=1))
            except OSError:
                break
        alive = []
        for sock in socks:
            try:
                sock.send(b"G")
                alive.append(sock)
            except OSError:
                sock.close()
        socks = alive
        stop.wait(every)
    for sock in socks:
        sock.close()


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port, admin_port = free_port(), free_port()
        path = Path(tmp) / "ringlb.toml"
        path.write_text(config(port, admin_port))
        proc = Ringlb(str(path), tmp)
        proc.start(port)
        try:
            assert wait_until(lambda: probe(admin_port, "/ready")[0] == 200, 5)
            stop = threading.Event()
            thread = threading.Thread(target=trickle,
                                      args=(admin_port, args.connections, args.every, stop))
            thread.start()
            time.sleep(1.0)
            cpu_before, wall_before = cpu_seconds(proc.pid), time.monotonic()
            results = []
            for i in range(args.probes):
                results.append(probe(admin_port, "/ready" if i % 2 == 0 else "/metrics"))
                time.sleep(0.25)
            cpu = (cpu_seconds(proc.pid) - cpu_before) / (time.monotonic() - wall_before)
            stop.set()
            thread.join()
        finally:
            proc.cleanup()
    ok = [seconds for status, seconds in results if status == 200]
    failed = [status for status, _ in results if status != 200]
    print(f"{args.connections} trickling connections (a byte every {args.every:g} s), "
          f"{args.probes} probes: {len(ok)} answered 200, {len(failed)} failed {sorted(set(map(str, failed)))}")
    if ok:
        print(f"latency p50 {statistics.median(ok) * 1000:.1f} ms, max {max(ok) * 1000:.1f} ms")
    print(f"ringlb CPU while probing: {cpu * 100:.1f}% of a core")


if __name__ == "__main__":
    main()
