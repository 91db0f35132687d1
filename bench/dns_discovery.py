#!/usr/bin/env python3
# Issue 20's DNS figures, measured through a real ringlb with real backends and the loopback DNS
# server of the tests (tests/integration/dns_server.py):
#   1. the time from a DNS change to traffic: a pool whose SRV record flips between two backends,
#      the time until the first response from the new one; median and maximum of --changes;
#   2. the keys that move when 1 of 100 backends leaves through DNS (consistent_hash, Maglev,
#      hash_key = "uri"): --keys URIs before and after, against the optimum (the leaver's keys).
# Usage: RINGLB_BIN=build/ringlb python3 bench/dns_discovery.py [--changes 10] [--keys 10000]
from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
from dns_harness import NameBackend, dns_config, metric, wait_for  # noqa: E402
from dns_server import DnsServer  # noqa: E402
from harness import HOST, free_port, is_listening  # noqa: E402

SRV = "_http._tcp.app.test"


def start_ringlb(config: str, port: int, workdir: str) -> subprocess.Popen:
    path = os.path.join(workdir, "ringlb.toml")
    Path(path).write_text(config)
    log = open(os.path.join(workdir, "ringlb.log"), "w")
    proc = subprocess.Popen([os.environ["RINGLB_BIN"], "-c", path], stdout=log, stderr=log)
    if not wait_for(lambda: is_listening(port), 10.0):
        proc.kill()
        sys.exit("ringlb did not start; see " + log.name)
    return proc


def srv_table(entries) -> dict:
    return {SRV: {"SRV": [[0, 1, backend.port, "b.app.test"] for backend in entries]},
            "b.app.test": {"A": ["127.0.0.1"]}}


class Client:
    """A new connection per request, as the clients a DNS change is for: a keep-alive connection
    sees a backend that joined only once it reconnects (one that left closes it after its
    response: docs/choices.md, "Membership")."""

    def __init__(self, port: int):
        self.port = port

    def get(self, path: str = "/") -> str:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            response = conn.getresponse()
            body = response.read().decode()
            return body if response.status == 200 else str(response.status)
        except (OSError, http.client.HTTPException):
            return "error"
        finally:
            conn.close()


def change_to_traffic(dns: DnsServer, workdir: str, changes: int, refresh: str) -> list[float]:
    a, b = NameBackend("a"), NameBackend("b")
    dns.set(srv_table([a]))
    port, admin = free_port(), free_port()
    proc = start_ringlb(dns_config(port, admin, [f'srv = "{SRV}"', f'refresh = "{refresh}"',
                                                 f'resolvers = ["{dns.address}"]']), port, workdir)
    try:
        client = Client(port)
        wait_for(lambda: client.get() == "a", 10.0)
        times = []
        current = a
        for _ in range(changes):
            time.sleep(random.uniform(0.2, 1.2))  # not in step with the refresh
            current = b if current is a else a
            dns.set(srv_table([current]))
            start = time.monotonic()
            while client.get() != current.name:
                pass
            times.append(time.monotonic() - start)
            print(f"change {len(times)}: {times[-1] * 1000:.0f} ms", flush=True)
        return times
    finally:
        proc.terminate()
        proc.wait()
        a.close()
        b.close()


def keys_moved(dns: DnsServer, workdir: str, keys: int) -> tuple[int, int, int]:
    backends = [NameBackend(f"b{i:03}") for i in range(100)]
    dns.set(srv_table(backends))
    port, admin = free_port(), free_port()
    config = dns_config(port, admin, [f'srv = "{SRV}"', 'refresh = "1s"',
                                      f'resolvers = ["{dns.address}"]'],
                        balance="consistent_hash", hash_key="uri")
    proc = start_ringlb(config, port, workdir)
    try:
        wait_for(lambda: metric(admin, "ringlb_dns_backends") == 100, 10.0)
        client = Client(port)
        before = [client.get(f"/k/{i}") for i in range(keys)]
        leaver = backends[37]
        dns.set(srv_table([b for b in backends if b is not leaver]))
        wait_for(lambda: metric(admin, "ringlb_dns_backends") == 99, 10.0)
        time.sleep(0.2)  # the snapshot is installed with the answer; workers adopt it next turn
        after = [client.get(f"/k/{i}") for i in range(keys)]
        moved = sum(1 for x, y in zip(before, after) if x != y)
        on_leaver = sum(1 for x in before if x == leaver.name)
        errors = sum(1 for x in before + after if not x.startswith("b"))
        return moved, on_leaver, errors
    finally:
        proc.terminate()
        proc.wait()
        for backend in backends:
            backend.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--keys", type=int, default=10000)
    parser.add_argument("--refresh", default="1s")
    args = parser.parse_args()
    dns = DnsServer()
    with tempfile.TemporaryDirectory(prefix="ringlb-dns-bench-") as workdir:
        times = change_to_traffic(dns, workdir, args.changes, args.refresh)
        print(f"DNS change to traffic (refresh {args.refresh}, TTL 30s), {len(times)} changes: "
              f"median {statistics.median(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms; all: "
              + " ".join(f"{t * 1000:.0f}" for t in times))
        moved, on_leaver, errors = keys_moved(dns, workdir, args.keys)
        print(f"1 of 100 backends leaves through DNS ({args.keys} keys, maglev, hash_key uri): "
              f"{moved} keys moved ({moved / args.keys:.2%}); the leaver had {on_leaver} "
              f"({on_leaver / args.keys:.2%}, the optimum); optimum 1% of keys = "
              f"{args.keys // 100}; failed requests {errors}")
    dns.close()


if __name__ == "__main__":
    main()
