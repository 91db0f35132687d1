# What the host tells the integration tests without touching the proxy: free and listening ports,
# /proc counters (RSS, kernel socket queues), config files written atomically, and polling with
# a deadline. Python 3.11 stdlib only.
from __future__ import annotations

import os
import re
import socket
import time
import urllib.request
from pathlib import Path

from harness_sockets import HOST


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def write_config(tmpdir, text: str, name: str = "ringlb.toml") -> str:
    """Writes `text` to tmpdir/name atomically (rename), so a reload never sees half a file."""
    path = Path(tmpdir) / name
    staging = path.with_suffix(".tmp")
    staging.write_text(text)
    os.replace(staging, path)
    return str(path)


def wait_until(predicate, timeout: float, interval: float = 0.02) -> bool:
    """Polls `predicate` until it is true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def listener_metric(admin_port: int, name: str, listener: str) -> int:
    """A counter of one listener from the admin API's /metrics; -1 when it is not there."""
    with urllib.request.urlopen(f"http://{HOST}:{admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    match = re.search(rf'^{name}{{listener="{listener}"[^}}]*}} (\d+)$', text, re.M)
    return int(match.group(1)) if match else -1


def wait_listener_metric(admin_port: int, name: str, listener: str, predicate,
                         timeout: float = 5.0) -> int:
    """listener_metric once `predicate` holds for it, or at the timeout."""
    wait_until(lambda: predicate(listener_metric(admin_port, name, listener)), timeout)
    return listener_metric(admin_port, name, listener)


def is_listening(port: int) -> bool:
    """True when some socket on this host is in LISTEN state on `port` (from /proc/net/tcp*).

    Unlike a probe connect, this does not create a connection the proxy would then forward,
    so it leaves balancer state and backend connection counts untouched.
    """
    wanted = f"{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[1].rsplit(":", 1)[1] == wanted and fields[3] == "0A":
                return True
    return False


def rss_bytes(pid: int) -> int:
    """Resident set size of process `pid` in bytes (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise OSError(f"no VmRSS for pid {pid}")


def kernel_queued_bytes(ports) -> int:
    """Bytes the kernel holds in the send and receive queues of established IPv4 TCP
    connections with an end on one of `ports`: on loopback, everything between the processes."""
    ports, total = set(ports), 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            ends = {int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)}
            if fields[3] == "01" and ends & ports:
                total += sum(int(queue, 16) for queue in fields[4].split(":"))
    return total


def wait_until_stalled(counters: list[int], timeout: float = 5.0) -> bool:
    """True once the sum of `counters` (bytes that sender threads have sent) has not grown for
    0.3 s: every buffer between the senders and whoever holds their bytes back is full."""
    last, still, deadline = -1, 0, time.monotonic() + timeout
    while still < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        still = still + 1 if sum(counters) == last else 0
        last = sum(counters)
    return still == 3


def can_connect(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def connection_refused(port: int) -> bool:
    """True when a connect to `port` is actively refused (nothing listening)."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
