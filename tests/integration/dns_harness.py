# Shared by the DNS discovery tests and bench/dns_discovery.py: HTTP backends that answer with
# their name on any loopback IP and port, a ringlb config whose pool comes from DNS, and the
# reads a test makes of ringlb (who answered, the DNS metrics). Python 3.11 stdlib only.
from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import HOST, runtime_user_lines


class NameBackend:
    """An HTTP/1.1 backend on (ip, port) whose every answer is `name`; port 0 picks one."""

    def __init__(self, name: str, ip: str = HOST, port: int = 0):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body = name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.name = name
        self.server = ThreadingHTTPServer((ip, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def dns_config(port: int, admin_port: int, dns_lines: list[str], *, balance: str = "round_robin",
               hash_key: str | None = None, backends: list[str] = ()) -> str:
    """One HTTP listener on `port` for pool 'app', fed by [pools.app.dns] `dns_lines`."""
    lines = ["[runtime]", "workers = 1", 'grace_period = "1s"', *runtime_user_lines(), "",
             "[log]", 'level = "info"', 'access = "off"', "",
             "[admin]", f'listen = "{HOST}:{admin_port}"', "",
             "[listeners.web]", f'bind = "{HOST}:{port}"', 'protocol = "http"', 'pool = "app"', "",
             "[pools.app]", f'balance = "{balance}"']
    if hash_key:
        lines.append(f'hash_key = "{hash_key}"')
    if backends:
        lines.append("backends = [" + ", ".join(f'{{ address = "{b}" }}' for b in backends) + "]")
    lines += ["", "[pools.app.dns]", *dns_lines]
    return "\n".join(lines) + "\n"


def who(port: int, path: str = "/", timeout: float = 3.0) -> tuple[int, str]:
    """(status, body) of one GET on a new connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


def names(port: int, count: int) -> dict[str, int]:
    """How many of `count` requests each backend (or "503") answered."""
    seen: dict[str, int] = {}
    for _ in range(count):
        status, body = who(port)
        key = body if status == 200 else str(status)
        seen[key] = seen.get(key, 0) + 1
    return seen


def metric(admin_port: int, name: str) -> float | None:
    """The value of `name{pool="app"}` in /metrics, or None when absent."""
    with urllib.request.urlopen(f"http://{HOST}:{admin_port}/metrics", timeout=3) as response:
        text = response.read().decode()
    match = re.search(re.escape(name) + r'\{pool="app"\} (\S+)', text)
    return float(match.group(1)) if match else None


def wait_for(predicate, timeout: float, step: float = 0.02):
    """The first truthy value of predicate() within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None
