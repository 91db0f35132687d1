# Shared pieces of the h2 attack scripts: a ringlb started on a throwaway config (plain h2c
# listener, optional TLS listener, admin port), the recording backend of tests/integration,
# raw h2 client helpers, and the checks every attack ends with (alive, no lifetime-bug lines in
# the log, CPU idle, RSS, metrics). Run with /usr/bin/python3 (python3-h2).
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "integration"))

import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402
from harness import runtime_user_lines  # noqa: E402
from http_backend import HttpBackend  # noqa: E402

HOST = "127.0.0.1"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
BIN = os.environ.get("RINGLB_BIN", str(HERE.parents[2] / "build" / "ringlb"))
LIFETIME_BUGS = ("stale completion", "timer for freed slot", "AddressSanitizer",
                 "runtime error", "LeakSanitizer")


def free_port() -> int:
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def config_text(port, admin_port, backends, *, http2=None, tls=None, timeouts=None,
                pool_timeouts=None, grace="5s", workers=1, limits=None, level="info", access="off"):
    http2 = http2 or {}
    lines = ["[runtime]", f"workers = {workers}", f'grace_period = "{grace}"',
             *runtime_user_lines(), "", "[admin]", f'listen = "{HOST}:{admin_port}"', "",
             "[log]", f'level = "{level}"', f'access = "{access}"', "",
             "[listeners.web]", f'bind = "{HOST}:{port}"', 'protocol = "http"', 'pool = "app"', ""]
    if tls:
        lines[-1:-1] = [f'tls = {{ certificates = [{{ cert = "{tls[0]}", key = "{tls[1]}" }}] }}']
    t = {"header": "5s", "client_idle": "30s", **(timeouts or {})}
    lines += ["[listeners.web.timeouts]", *[f'{k} = "{v}"' for k, v in t.items()], ""]
    lim = {"max_body_bytes": "0", **(limits or {})}
    lines += ["[listeners.web.limits]",
              *[f"{k} = {v if isinstance(v, int) else repr(v).replace(chr(39), chr(34))}"
                for k, v in lim.items()], ""]
    lines += ["[listeners.web.http2]"]
    for k, v in http2.items():
        lines.append(f"{k} = {str(v).lower() if isinstance(v, bool) else (v if isinstance(v, int) else chr(34) + v + chr(34))}")
    lines += ["", "[pools.app]", "backends = ["]
    for b in backends:
        lines.append(f'  {{ address = "{HOST}:{b}" }},')
    lines += ["]"]
    pt = {"connect": "2s", "response": "10s", **(pool_timeouts or {})}
    lines += ["[pools.app.timeouts]", *[f'{k} = "{v}"' for k, v in pt.items()], ""]
    return "\n".join(lines) + "\n"


class Proxy:
    def __init__(self, backends, **options):
        self.dir = tempfile.mkdtemp(prefix="h2attack-")
        self.port = free_port()
        self.admin_port = free_port()
        self.backends = backends
        self.options = options
        self.config = Path(self.dir) / "ringlb.toml"
        self.write_config(**options)
        self.log_path = Path(self.dir) / "stderr"
        self.proc = subprocess.Popen([BIN, "-c", str(self.config)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.log_path, "wb"), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection((HOST, self.admin_port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("ringlb did not start:\n" + self.log())
                time.sleep(0.05)
        self.cpu0 = self.cpu_ticks()

    def write_config(self, **options):
        self.config.write_text(config_text(self.port, self.admin_port, self.backends, **options))

    def log(self):
        return self.log_path.read_text(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1])
        return -1

    def cpu_ticks(self):
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    def idle_cpu(self, seconds=1.0):
        """Fraction of one core used over `seconds` (should be ~0 when idle)."""
        a = self.cpu_ticks()
        time.sleep(seconds)
        return (self.cpu_ticks() - a) / os.sysconf("SC_CLK_TCK") / seconds

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def metrics(self) -> dict[str, float]:
        text = urllib.request.urlopen(f"http://{HOST}:{self.admin_port}/metrics", timeout=5).read()
        out = {}
        for line in text.decode().splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            if "ringlb_h2" in name or "active" in name or "requests_total" in name:
                out[name] = float(value)
        return out

    def h2_metrics(self):
        return {k: v for k, v in self.metrics().items() if "h2" in k or "active" in k}

    def lifetime_bugs(self):
        return [l for l in self.log().splitlines() if any(b in l for b in LIFETIME_BUGS)]

    def check(self, label=""):
        """Prints the post-attack health: alive, log bugs, idle CPU, RSS, negative gauges."""
        alive = self.alive()
        bugs = self.lifetime_bugs()
        res = {"alive": alive, "bugs": bugs[:5]}
        if alive:
            res["idle_cpu"] = round(self.idle_cpu(1.0), 3)
            res["rss_kib"] = self.rss_kib()
            res["fds"] = self.fds()
            m = self.h2_metrics()
            res["negative"] = {k: v for k, v in m.items() if v < 0}
            res["active"] = {k: v for k, v in m.items() if "active" in k and v != 0}
        print(f"[check {label}] {res}", flush=True)
        return res

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                print("!! ringlb did not exit 10 s after SIGTERM", flush=True)
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def connect(port, timeout=5.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def client_conn(**settings):
    cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    c = h2.connection.H2Connection(cfg)
    c.initiate_connection()
    if settings:
        c.update_settings(settings)
    return c


def req_headers(path, method="GET", authority="x", extra=()):
    return [(":method", method), (":path", path), (":scheme", "http"),
            (":authority", authority), *extra]


def pump(sock, conn, until, timeout=10.0):
    """Reads frames into `conn` until until(events_so_far) is true; returns all events."""
    events = []
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while not until(events):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timeout; events so far: {summarize(events)}")
        try:
            data = sock.recv(1 << 16)
        except socket.timeout:
            continue
        if not data:
            events.append("EOF")
            break
        evs = conn.receive_data(data)
        events += evs
        for e in evs:
            if isinstance(e, h2.events.DataReceived):
                conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        out = conn.data_to_send()
        if out:
            try:
                sock.sendall(out)
            except OSError:
                pass
    return events


def summarize(events, limit=12):
    names = [type(e).__name__ if not isinstance(e, str) else e for e in events]
    return names[:limit] + (["..."] if len(names) > limit else [])


def read_all(sock, timeout=2.0):
    """Raw bytes until EOF or silence."""
    sock.settimeout(timeout)
    out = b""
    try:
        while True:
            d = sock.recv(1 << 16)
            if not d:
                return out, True
            out += d
    except (socket.timeout, ConnectionResetError):
        return out, False


def frames(raw: bytes):
    """Parses raw h2 frames (no preface) into (type, flags, stream, payload) tuples."""
    out = []
    i = 0
    while i + 9 <= len(raw):
        length = int.from_bytes(raw[i:i + 3], "big")
        ftype, flags = raw[i + 3], raw[i + 4]
        sid = int.from_bytes(raw[i + 5:i + 9], "big") & 0x7FFFFFFF
        out.append((ftype, flags, sid, raw[i + 9:i + 9 + length]))
        i += 9 + length
    return out


FT = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST", 4: "SETTINGS", 5: "PUSH", 6: "PING",
      7: "GOAWAY", 8: "WU", 9: "CONT"}


def frame_names(raw):
    res = []
    for t, f, s, p in frames(raw):
        extra = ""
        if t == 7:
            extra = f" last={int.from_bytes(p[:4], 'big')} err={int.from_bytes(p[4:8], 'big')}"
        if t == 3:
            extra = f" err={int.from_bytes(p[:4], 'big')}"
        res.append(f"{FT.get(t, t)}[{s}]{extra}")
    return res


def frame(ftype, flags, sid, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + sid.to_bytes(4, "big") + payload


def result(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)
    return ok


def h2_get(port, path="/", timeout=10.0, method="GET", body=None, extra=()):
    """One request on a fresh h2c connection: (status, body bytes, trailers dict)."""
    s = connect(port, timeout)
    c = client_conn()
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, req_headers(path, method, extra=extra), end_stream=body is None)
    if body is not None:
        c.send_data(sid, body, end_stream=True)
    s.sendall(c.data_to_send())
    done = lambda e: any(isinstance(x, (h2.events.StreamEnded, h2.events.StreamReset))
                         or x == "EOF" for x in e)
    evs = pump(s, c, done, timeout)
    s.close()
    status = None
    trailers = {}
    for e in evs:
        if isinstance(e, h2.events.ResponseReceived):
            status = int(dict(e.headers)[":status"])
        if isinstance(e, h2.events.TrailersReceived):
            trailers = dict(e.headers)
        if isinstance(e, h2.events.StreamReset):
            status = f"RST{e.error_code}"
    data = b"".join(e.data for e in evs if isinstance(e, h2.events.DataReceived))
    return status, data, trailers


def sane(p, label):
    """ringlb still answers a plain h2 GET and is healthy."""
    try:
        st, data, _ = h2_get(p.port, "/stream/1000")
        ok = st == 200 and len(data) == 1000
    except Exception as e:  # noqa: BLE001
        ok, st = False, repr(e)
    res = p.check(label)
    return result(f"{label}: still serving", ok and res["alive"] and not res["bugs"],
                  f"status={st}")
