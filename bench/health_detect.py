#!/usr/bin/env python3
"""Detection time: how long ringlb keeps sending requests to a backend after it dies.

Two HTTP backends behind ringlb (workers = 1, http checks), two clients sending keep-alive GETs
without pause; then one backend is killed (listener and connections closed). The time from the
kill to the last request ringlb sent toward it (its last "connect to ... failed" log line; each
such attempt is retried on the other backend, so clients see no error) is the detection time.

Usage: bench/health_detect.py [--rounds N] [--health 'interval = "200ms"' --health 'fall = 2']
       [--passive 'consecutive_failures = 5']   (needs build/ringlb; RINGLB_BIN overrides)
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from harness import HOST, Ringlb, free_port, runtime_user_lines, wait_until  # noqa: E402
from http_harness import HttpBackend, HttpConn  # noqa: E402

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")


def config(port, backends, health_lines, passive_lines):
    listed = ", ".join(f'{{ address = "{HOST}:{b.port}" }}' for b in backends)
    lines = ["[runtime]", "workers = 1", *runtime_user_lines(), "[log]", 'access = "off"',
             "[listeners.web]", f'bind = "{HOST}:{port}"', 'pool = "app"',
             "[pools.app]", f"backends = [ {listed} ]",
             "[pools.app.health]", 'check = "http"', *health_lines]
    if passive_lines is not None:
        lines += ["[pools.app.passive]", *passive_lines]
    return "\n".join(lines) + "\n"


def log_time(line):
    match = STAMP.match(line)
    stamp = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    return stamp.replace(tzinfo=timezone.utc).timestamp()


def one_round(tmp, health_lines, passive_lines):
    backends = [HttpBackend("a"), HttpBackend("b")]
    port = free_port()
    path = Path(tmp) / "ringlb.toml"
    path.write_text(config(port, backends, health_lines, passive_lines))
    proc = Ringlb(str(path), tmp)
    stop = threading.Event()
    errors = []

    def load():
        while not stop.is_set():
            try:
                with HttpConn(port, 5.0) as conn:
                    for _ in range(100):
                        if conn.request("GET", "/").status != 200:
                            errors.append("status")
            except Exception as e:  # noqa: BLE001 - counted, the run goes on
                errors.append(repr(e))

    try:
        proc.start(port)
        # Both backends checked and taking traffic before the kill.
        wait_until(lambda: all(b.health_checks for b in backends), 10.0)
        clients = [threading.Thread(target=load, daemon=True) for _ in range(2)]
        for client in clients:
            client.start()
        time.sleep(1.0)
        victim = backends[1]
        killed = time.time()
        victim.close()
        marker = f"backend {HOST}:{victim.port} up -> "
        wait_until(lambda: marker in proc.log(), 30.0)
        time.sleep(0.5)
        stop.set()
        for client in clients:
            client.join(timeout=10)
        attempts = [line for line in proc.log().splitlines()
                    if f"connect to {HOST}:{victim.port} failed" in line]
        marked = next(line for line in proc.log().splitlines() if marker in line)
        last_sent = log_time(attempts[-1]) if attempts else killed
        return {"detect": last_sent - killed, "marked": log_time(marked) - killed,
                "retried": len(attempts), "errors": len(errors),
                "how": marked.split(marker, 1)[1].split(" ", 1)[0]}
    finally:
        stop.set()
        proc.cleanup()
        for backend in backends:
            backend.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--health", action="append", default=[],
                        help='a line for [pools.app.health], e.g. \'interval = "200ms"\'')
    parser.add_argument("--passive", action="append", default=None,
                        help="a line for [pools.app.passive] (enables passive detection)")
    args = parser.parse_args()
    os.environ.setdefault("RINGLB_BIN", str(ROOT / "build" / "ringlb"))
    results = []
    for index in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="ringlb-detect-") as tmp:
            result = one_round(tmp, args.health, args.passive)
        results.append(result)
        print(f"round {index + 1}: last request to the dead backend {result['detect'] * 1000:.0f} ms "
              f"after the kill, marked {result['how']} at {result['marked'] * 1000:.0f} ms, "
              f"{result['retried']} attempts retried, {result['errors']} client errors",
              flush=True)
    detect = [r["detect"] * 1000 for r in results]
    print(f"health {args.health or 'defaults'} passive {args.passive or 'off'}: detection "
          f"median {statistics.median(detect):.0f} ms, min {min(detect):.0f}, "
          f"max {max(detect):.0f} over {len(detect)} rounds; client errors "
          f"{sum(r['errors'] for r in results)}")


if __name__ == "__main__":
    main()
