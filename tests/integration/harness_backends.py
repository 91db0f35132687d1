# TCP backends for the integration tests: real sockets on 127.0.0.1 served by daemon threads
# (echo, named, half-closing), and a listener whose backlog is full so connects hang.
# Python 3.11 stdlib only.
from __future__ import annotations

import socket
import threading

from harness_sockets import HOST


class _ThreadedServer:
    """A listening socket on 127.0.0.1 with one daemon thread per accepted connection.

    `connections` counts accepted connections; `active` counts those not yet finished.
    close() stops accepting, shuts every open connection, and joins the threads.
    """

    conn_timeout = 30.0

    def __init__(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, 0))
        self._listener.listen(256)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.connections = 0
        self.active = 0
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(self.conn_timeout)
            with self._lock:
                self.connections += 1
                self.active += 1
                self._open.add(conn)
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket):
        try:
            self.handle(conn)
        except OSError:
            pass  # the proxy may reset or time out; the test asserts on what the client sees
        finally:
            with self._lock:
                self.active -= 1
                self._open.discard(conn)
            conn.close()

    def close(self):
        self._stopping.set()
        self._acceptor.join(timeout=2)
        self._listener.close()
        with self._lock:
            open_conns = list(self._open)
        for conn in open_conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for worker in self._threads:
            worker.join(timeout=2)


def _echo(conn: socket.socket):
    while True:
        data = conn.recv(1 << 16)
        if not data:
            return
        conn.sendall(data)


class EchoBackend(_ThreadedServer):
    """Echoes every byte back; closes once the client has closed its sending side."""

    def handle(self, conn):
        _echo(conn)


class NamedBackend(_ThreadedServer):
    """On connect sends `name\\n`, then echoes (or closes at once when echo=False).

    The name line tells a client which backend the proxy picked; the echo lets a test check
    that an old connection still reaches the same backend later (e.g. across a reload).
    """

    def __init__(self, name: str, echo: bool = True):
        self.name = name
        self.echo = echo
        super().__init__()

    def handle(self, conn):
        conn.sendall(self.name.encode() + b"\n")
        if self.echo:
            _echo(conn)


class HalfCloseBackend(_ThreadedServer):
    """Reads until EOF, then replies `got N bytes\\n` and closes: proves half-close is carried."""

    def handle(self, conn):
        total = 0
        while True:
            data = conn.recv(1 << 16)
            if not data:
                break
            total += len(data)
        conn.sendall(f"got {total} bytes\n".encode())


class BlackholeListener:
    """A port where TCP connects hang: listen(1), never accept, backlog filled by our own sockets.

    With a full accept queue Linux drops incoming SYNs, so a client's connect neither succeeds
    nor is refused until its own timeout. The constructor verifies that, and raises otherwise.
    """

    def __init__(self, max_fillers: int = 16):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self.connections = 0  # never accepts: stays 0, kept for symmetry with the backends
        self._fillers: list[socket.socket] = []
        self._fill(max_fillers)
        if not self.connect_hangs(0.3):
            self.close()
            raise RuntimeError("connects to a full backlog do not hang on this kernel")

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def _fill(self, max_fillers: int):
        for _ in range(max_fillers):
            if self.connect_hangs(0.2):  # a connect that completes stays open as a filler
                return
        raise RuntimeError(f"backlog of port {self.port} not full after {max_fillers} connects")

    def connect_hangs(self, timeout: float) -> bool:
        """True if a fresh connect is still pending after `timeout` seconds."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(timeout)
            try:
                probe.connect((HOST, self.port))
            except TimeoutError:
                return True
            except OSError:
                return False
            self._fillers.append(probe.dup())
            return False

    def close(self):
        for filler in self._fillers:
            filler.close()
        self._fillers.clear()
        self._listener.close()
