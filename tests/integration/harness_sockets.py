# Client sockets for the integration tests, and the address and timeout every helper uses: each
# read has a deadline, so a test that waits on a silent peer fails instead of hanging.
# Python 3.11 stdlib only; everything binds 127.0.0.1.
from __future__ import annotations

import socket
import time

HOST = "127.0.0.1"
DEFAULT_TIMEOUT = 5.0


def connect(port: int, timeout: float = DEFAULT_TIMEOUT) -> socket.socket:
    """A connected client socket with `timeout` set for every later operation."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def _with_timeout(sock: socket.socket, timeout: float | None):
    if timeout is not None:
        sock.settimeout(timeout)


def recv_exact(sock: socket.socket, n: int, timeout: float | None = None) -> bytes:
    """Exactly `n` bytes; raises EOFError if the peer closes first, TimeoutError if slow."""
    _with_timeout(sock, timeout)
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 16))
        if not chunk:
            raise EOFError(f"peer closed after {got} of {n} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_line(sock: socket.socket, timeout: float | None = None, limit: int = 4096) -> bytes:
    """One line including its b"\\n", read byte by byte so nothing after it is consumed."""
    _with_timeout(sock, timeout)
    line = bytearray()
    while len(line) < limit:
        byte = sock.recv(1)
        if not byte:
            raise EOFError(f"peer closed before end of line (got {bytes(line)!r})")
        line += byte
        if byte == b"\n":
            return bytes(line)
    raise ValueError(f"no newline in the first {limit} bytes")


def recv_until_eof(sock: socket.socket, timeout: float | None = None) -> bytes:
    """Everything until the peer closes its side; TimeoutError if it stays open."""
    _with_timeout(sock, timeout)
    chunks = []
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def wait_closed(sock: socket.socket, timeout: float) -> bool:
    """True if the peer closes (EOF or reset) within `timeout`; data read meanwhile is dropped."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sock.settimeout(remaining)
        try:
            if not sock.recv(1 << 16):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False


def echo_roundtrip(sock: socket.socket, payload: bytes, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Sends `payload` and returns as many bytes back (for echoing backends)."""
    sock.settimeout(timeout)
    sock.sendall(payload)
    return recv_exact(sock, len(payload))
