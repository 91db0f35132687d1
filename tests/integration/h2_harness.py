# HTTP/2 pieces for the integration tests: the test base (H2TestCase, an HttpTestCase with h2
# clients that are always closed), the config sections ([listeners.NAME.http2], TLS), curl, and
# the figures the flood tests record (backend work, ringlb's CPU time and RSS). The clients live
# in h2_client (python-h2) and h2_raw (hand-built frames). Needs Debian's python3-h2, which
# h2_support.py finds from any Python 3; without it the h2 tests fail, they are never skipped.
from __future__ import annotations

import subprocess
import sys
import time
import unittest
from pathlib import Path

from http_harness import HttpTestCase, RssSampler
from harness import rss_bytes

import h2_client
import h2_raw
from h2_client import H2Client
from h2_raw import RawH2
from http_fault_backend import FaultBackend


def needs_h2(test):
    """Kept for the tests' decorators: python3-h2 is required (h2_support.py), never skipped."""
    return test


def http2_section(listener: str = "web", **keys) -> str:
    """`[listeners.LISTENER.http2]` with `keys` (bools, ints, or strings such as "64KiB")."""
    lines = [f"\n[listeners.{listener}.http2]"]
    for key, value in keys.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def tls_section(listener: str, certificates) -> str:
    listed = ", ".join(f'{{ cert = "{c}", key = "{k}" }}' for c, k in certificates)
    return f"\n[listeners.{listener}.tls]\ncertificates = [ {listed} ]\n"


def curl(*args: str, timeout: float = 15.0) -> subprocess.CompletedProcess:
    """curl with errors shown and a deadline; the caller adds the protocol flags and URL."""
    return subprocess.run(["curl", "-sS", "--max-time", str(int(timeout) - 2), *args],
                          capture_output=True, timeout=timeout)


def curl_status_line(output: bytes) -> str:
    """The first line of `curl -i` output, e.g. "HTTP/2 200"."""
    return output.split(b"\r\n", 1)[0].decode("latin-1").strip()


def curl_body(output: bytes) -> bytes:
    """What follows the last header block of `curl -i` output."""
    return output.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in output else b""


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of process `pid` so far, from /proc/PID/task/*/schedstat (in
    nanoseconds; /proc/PID/stat's utime + stime count 10 ms ticks, too coarse for one attack).
    Threads that have exited are no longer counted; ringlb's workers live as long as it does."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended just now
    return total / 1e9


class AttackFigures:
    """Measures one attack: ringlb's CPU time and RSS (before, peak) while it runs, and the
    backend work it caused (requests, connections). Printed on exit, one line per attack, for
    the issue's closing note (`grep h2-flood-figures` in the test output)."""

    def __init__(self, name: str, pid: int, backends):
        self.name = name
        self.pid = pid
        self.backends = list(backends)
        self.requests = 0
        self.connections = 0

    def __enter__(self):
        self._requests_before = sum(_backend_requests(b) for b in self.backends)
        self._connections_before = sum(b.connections for b in self.backends)
        self.rss_before = _rss_or_zero(self.pid)
        self.cpu_before = cpu_seconds(self.pid)
        self.started = time.monotonic()
        self._sampler = RssSampler(self.pid, interval=0.01).__enter__()
        return self

    def __exit__(self, *exc):
        self._sampler.stop()
        self.seconds = time.monotonic() - self.started
        try:
            self.cpu_ms = (cpu_seconds(self.pid) - self.cpu_before) * 1000
        except OSError:
            self.cpu_ms = float("nan")  # ringlb died: the test fails on that elsewhere
        self.rss_peak = self._sampler.peak
        self.requests = sum(_backend_requests(b) for b in self.backends) - self._requests_before
        self.connections = sum(b.connections for b in self.backends) - self._connections_before
        print(f"\nh2-flood-figures: {self.name}: backend requests={self.requests} "
              f"connections={self.connections}, ringlb cpu={self.cpu_ms:.1f} ms over "
              f"{self.seconds:.2f} s, rss before={self.rss_before >> 10} KiB "
              f"peak={self.rss_peak >> 10} KiB", file=sys.stderr)
        return False


def _rss_or_zero(pid: int) -> int:
    try:
        return rss_bytes(pid)
    except OSError:
        return 0


def _backend_requests(backend) -> int:
    if hasattr(backend, "requests"):
        return len(backend.requests)
    return len(getattr(backend, "heads", []))


class HangBackend(FaultBackend):
    """A FaultBackend("hang") that a shared test class can reset between tests: it reads a
    request head, never answers, and counts the connections ringlb closes (`peer_closed`)."""

    def __init__(self):
        super().__init__("hang")

    def reset(self):
        with self._records:
            self.bytes_received = 0
            self.heads = []
            self.peer_closed = 0
        with self._lock:
            self.connections = 0


class H2TestCase(HttpTestCase):
    """An HttpTestCase whose h2 clients are closed after each test."""

    def h2(self, port: int, **kwargs) -> "H2Client":
        client = H2Client(port, **kwargs)
        self.addCleanup(client.close)
        return client

    def raw(self, port: int, **kwargs) -> "RawH2":
        client = RawH2(port, **kwargs)
        self.addCleanup(client.close)
        return client

    def assertServed(self, port: int, msg: str = "", **kwargs):
        """A fresh connection gets a 200 for GET /after: ringlb is still serving."""
        client = self.h2(port, **kwargs)
        stream = client.get("/after")
        self.assertEqual(stream.status, 200, f"{msg}\nfresh stream after: {stream}")

