# A backend that misbehaves on purpose after reading a request head (resets, closes, hangs, or
# sends given raw bytes), for the HTTP fault and hardening tests. Python 3.11 stdlib only.
from __future__ import annotations

import socket
import struct
import threading

from harness_backends import _ThreadedServer


class FaultBackend(_ThreadedServer):
    """A backend that misbehaves after reading a request head.

    mode "reset": RST at once, no response. "close": FIN, no response. "hang": never answers,
    holds the connection until the peer closes it. "raw": sends `raw`, then `after` =
    "close" | "hold" | "reset". Records `bytes_received`, `heads` (request heads read),
    `connections`, and `peer_closed` (connections the peer closed while held).
    """

    def __init__(self, mode: str, raw: bytes = b"", after: str = "close"):
        assert mode in ("reset", "close", "hang", "raw"), mode
        assert after in ("close", "hold", "reset"), after
        self.mode = mode
        self.raw = raw
        self.after = after
        self._records = threading.Lock()
        self.bytes_received = 0
        self.heads: list[bytes] = []
        self.peer_closed = 0
        super().__init__()

    def _recv(self, conn) -> bytes:
        data = conn.recv(1 << 16)
        with self._records:
            self.bytes_received += len(data)
        return data

    def handle(self, conn):
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            data = self._recv(conn)
            if not data:
                return
            buf += data
        with self._records:
            self.heads.append(bytes(buf[:buf.find(b"\r\n\r\n") + 4]))
        action = self.mode
        if self.mode == "raw":
            conn.sendall(self.raw)
            action = {"close": "close", "hold": "hang", "reset": "reset"}[self.after]
        if action == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif action == "hang":
            try:
                while self._recv(conn):
                    pass
            except ConnectionResetError:
                pass  # a reset is a close too
            with self._records:
                self.peer_closed += 1
