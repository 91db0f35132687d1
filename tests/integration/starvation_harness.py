# Pieces for the slow-reader starvation test and bench/slow_readers: a backend that streams a
# large body to many connections from one thread (writing until each socket blocks), clients that
# ask for it and never read, a fresh-request probe, and CPU time read from /proc.
# Python 3.11 stdlib only; everything binds 127.0.0.1.
from __future__ import annotations

import os
import random
import resource
import selectors
import socket
import threading
import time

from harness import HOST

BIG_BODY = 50 * (1 << 20)  # what /big answers: 50 MB, as in the repro
# Every body is this block repeated, so a reader can check each byte it got.
PATTERN = random.Random(0x51077).randbytes(1 << 16)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def expected_body(offset: int, length: int) -> bytes:
    """Bytes [offset, offset + length) of any body the backend streams."""
    out = bytearray()
    while len(out) < length:
        start = (offset + len(out)) % len(PATTERN)
        out += PATTERN[start:start + length - len(out)]
    return bytes(out)


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (ringlb inherits it); returns the new soft one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (all its threads) in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_percent(pid: int, seconds: float) -> float:
    """The share of one core process `pid` used over the next `seconds` (100 = one core)."""
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - before) / (time.monotonic() - start)


class StreamingBackend:
    """An HTTP/1.1 backend in one selector thread. `GET /big` is answered with a BIG_BODY body
    (`GET /bytes/N` with N bytes) written as fast as each socket takes it (so toward a client
    that never reads, the backend writes until blocked); any other target gets `200 ok` and the
    connection stays open.

    `sent` counts body bytes written over all connections, `connections` accepted ones.
    """

    def __init__(self, send_buffer: int = 16384):
        self._send_buffer = send_buffer
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, 0))
        self._listener.listen(4096)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self.sent = 0
        self.connections = 0
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def _run(self):
        while not self._stopping:
            for key, _ in self._selector.select(timeout=0.05):
                if key.data is None:
                    self._accept()
                else:
                    self._service(key.fileobj, key.data)

    def _accept(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, OSError):
                return
            conn.setblocking(False)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)
            self.connections += 1
            state = {"in": bytearray(), "out": b"", "body_left": 0, "offset": 0}
            self._selector.register(conn, selectors.EVENT_READ, state)

    def _service(self, conn, state):
        try:
            if not state["out"] and state["body_left"] == 0:
                data = conn.recv(65536)
                if not data:
                    return self._drop(conn)
                state["in"] += data
                self._answer_complete_requests(state)
            self._write(conn, state)
        except OSError:
            self._drop(conn)

    def _answer_complete_requests(self, state):
        end = state["in"].find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(state["in"][:end])
        del state["in"][:end + 4]
        target = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
        if target.startswith(b"/big") or target.startswith(b"/bytes/"):
            size = BIG_BODY if target.startswith(b"/big") else int(target.split(b"/")[2])
            state["out"] = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size
            state["body_left"], state["offset"] = size, 0
        else:
            state["out"] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def _write(self, conn, state):
        while state["out"] or state["body_left"]:
            if not state["out"]:
                start = state["offset"] % len(PATTERN)
                piece = PATTERN[start:] + PATTERN[:start]
                state["out"] = piece[:state["body_left"]]
                state["body_left"] -= len(state["out"])
                state["offset"] += len(state["out"])
                self.sent += len(state["out"])
            try:
                written = conn.send(state["out"])
            except BlockingIOError:
                written = 0
            state["out"] = state["out"][written:]
            if state["out"]:  # blocked: wait until the socket takes more
                self._selector.modify(conn, selectors.EVENT_WRITE, state)
                return
        self._selector.modify(conn, selectors.EVENT_READ, state)
        if state["in"]:
            self._answer_complete_requests(state)
            self._write(conn, state)

    def _drop(self, conn):
        try:
            self._selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def close(self):
        self._stopping = True
        self._thread.join(timeout=5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()


def open_stalled_readers(port: int, count: int, receive_buffer: int = 2048) -> list[socket.socket]:
    """`count` clients with a small SO_RCVBUF that ask for /big and never read."""
    request = b"GET /big HTTP/1.1\r\nHost: slow.test\r\n\r\n"
    readers = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.settimeout(5)
            sock.connect((HOST, port))
            sock.sendall(request)
            readers.append(sock)
    except BaseException:
        for sock in readers:
            sock.close()
        raise
    return readers


def open_pipelining_readers(port: int, count: int, request_bytes: int) -> list[socket.socket]:
    """`count` clients with a small SO_RCVBUF that send `request_bytes` of pipelined GET /big
    requests at once (as much as the socket takes) and never read."""
    one = b"GET /big HTTP/1.1\r\nHost: slow.test\r\n\r\n"
    burst = one * (request_bytes // len(one))
    readers = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
            sock.settimeout(5)
            sock.connect((HOST, port))
            sock.setblocking(False)
            try:
                sock.send(burst)
            except BlockingIOError:
                pass
            readers.append(sock)
    except BaseException:
        for sock in readers:
            sock.close()
        raise
    return readers


def wait_backend_stalled(backend: StreamingBackend, connections: int, timeout: float) -> bool:
    """True once the backend has `connections` connections and has written nothing for 0.5 s:
    every reader's path is full, as far as ringlb lets it fill."""
    deadline = time.monotonic() + timeout
    while backend.connections < connections and time.monotonic() < deadline:
        time.sleep(0.05)
    last, still = -1, 0
    while still < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
        still = still + 1 if backend.sent == last else 0
        last = backend.sent
    return still == 5


def fresh_request_seconds(port: int, timeout: float) -> float | None:
    """Seconds until a new connection's `GET /` got its whole `ok` response, or None when it
    did not within `timeout` (closed, reset or still waiting)."""
    start = time.monotonic()
    deadline = start + timeout
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: fresh.test\r\nConnection: close\r\n\r\n")
            got = b""
            while not (b"\r\n\r\n" in got and got.endswith(b"ok")):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                sock.settimeout(remaining)
                data = sock.recv(4096)
                if not data:
                    return None
                got += data
    except OSError:
        return None
    return time.monotonic() - start


def download(port: int, size: int, timeout: float) -> bytes:
    """GET /bytes/SIZE on a new connection, read as fast as it comes; the body bytes received
    (fewer than `size` when the connection ended or `timeout` passed first)."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: fast.test\r\n\r\n" % size)
            got = bytearray()
            while time.monotonic() < deadline:
                end = got.find(b"\r\n\r\n")
                if end >= 0 and len(got) - end - 4 >= size:
                    break
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                data = sock.recv(1 << 16)
                if not data:
                    break
                got += data
            end = got.find(b"\r\n\r\n")
            return bytes(got[end + 4:end + 4 + size]) if end >= 0 else b""
    except OSError:
        return b""


def trickle_read(port: int, total: int, piece: int, pause: float, timeout: float) -> bytes:
    """Asks for /big on a connection with a small SO_RCVBUF and reads `total` body bytes,
    `piece` bytes at a time with `pause` seconds between reads. Returns the body bytes read
    (fewer than `total` when `timeout` passed first)."""
    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    try:
        sock.settimeout(timeout)
        sock.connect((HOST, port))
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: trickle.test\r\n\r\n")
        got = bytearray()
        head_end = -1
        while time.monotonic() < deadline:
            if head_end >= 0 and len(got) - head_end >= total:
                break
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(piece)
            except TimeoutError:
                break
            if not data:
                break
            got += data
            if head_end < 0 and b"\r\n\r\n" in got:
                head_end = got.find(b"\r\n\r\n") + 4
            time.sleep(pause)
        return bytes(got[head_end:head_end + total]) if head_end >= 0 else b""
    except OSError:
        return b""
    finally:
        sock.close()
