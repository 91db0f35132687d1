# Shared pieces for the ringlb integration tests: a process wrapper for the binary, real TCP
# backends running in threads, and socket helpers that never block longer than their timeout.
# Python 3.11 stdlib only; everything binds 127.0.0.1.
from __future__ import annotations

import os
import pwd
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_TIMEOUT = 5.0


# --- ports, files, waiting ------------------------------------------------------------------


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


# --- socket helpers -------------------------------------------------------------------------


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


# --- backends -------------------------------------------------------------------------------


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


# --- the binary -----------------------------------------------------------------------------


def ringlb_bin() -> str | None:
    return os.environ.get("RINGLB_BIN")


def source_dir() -> Path:
    env = os.environ.get("RINGLB_SOURCE_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def run_ringlb(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Runs the binary to completion (for --check, --version, ...); raises if it hangs."""
    return subprocess.run([ringlb_bin(), *args], capture_output=True, text=True,
                          errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)


class Ringlb:
    """One `ringlb -c CONFIG` process in the foreground, stderr captured to a file.

    start() returns once `ready_port` accepts. cleanup() always leaves no process behind.
    """

    def __init__(self, config_path: str, log_dir: str, env: dict[str, str] | None = None):
        self.config_path = config_path
        self.env = env  # added to this process's environment
        self.stderr_path = Path(log_dir) / "ringlb.stderr"
        self.stdout_path = Path(log_dir) / "ringlb.stdout"
        self.proc: subprocess.Popen | None = None
        self._files = []

    def start(self, ready_port: int, timeout: float = 10.0, probe: str = "listen"):
        """Starts the process and waits until `ready_port` is ready.

        probe="connect" polls with TCP connects (each one is a real proxied connection);
        probe="listen" polls /proc/net/tcp for the LISTEN socket, which a connect would hit,
        without creating a connection. Both mean the kernel accepts connections on the port.
        """
        stderr = open(self.stderr_path, "wb")
        stdout = open(self.stdout_path, "wb")
        self._files = [stderr, stdout]
        env = {**os.environ, **self.env} if self.env else None
        self.proc = subprocess.Popen([ringlb_bin(), "-c", self.config_path], stdout=stdout,
                                     stderr=stderr, stdin=subprocess.DEVNULL, env=env)
        ready = is_listening if probe == "listen" else can_connect
        deadline = time.monotonic() + timeout
        while not ready(ready_port):
            if self.proc.poll() is not None:
                raise AssertionError(f"ringlb exited with {self.proc.returncode} before "
                                     f"listening on {ready_port}\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"ringlb not listening on {ready_port} after {timeout}s\n"
                                     f"{self.log_tail()}")
            time.sleep(0.02)
        return self

    def log(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        tail = self.log().splitlines()[-lines:]
        return "--- ringlb stderr (tail) ---\n" + "\n".join(tail)

    def wait_for_log(self, substring: str, timeout: float = 5.0, start: int = 0) -> str:
        """The first stderr line at or after character `start` containing `substring`."""
        found = []

        def seen():
            for line in self.log()[start:].splitlines():
                if substring in line:
                    found.append(line)
                    return True
            return False

        if not wait_until(seen, timeout, interval=0.05):
            raise AssertionError(f"no stderr line with {substring!r} after {timeout}s\n"
                                 f"{self.log_tail()}")
        return found[0]

    def log_size(self) -> int:
        """Current length of the stderr text, to search only what comes after an action."""
        return len(self.log())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss(self) -> int:
        """Current resident set size in bytes."""
        return rss_bytes(self.proc.pid)

    def send_signal(self, sig: int):
        self.proc.send_signal(sig)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code (negative = killed by that signal), or None if still running."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def cleanup(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=5)
        for f in self._files:
            f.close()


# --- test base ------------------------------------------------------------------------------


def runtime_user_lines() -> list[str]:
    """`user = "NAME"` naming whoever runs the tests, for a config's [runtime] table.

    ringlb refuses to run as root unless runtime.user says so, and a user other than the
    current one cannot be switched to without root; naming the current user works for both.
    Empty when the uid has no passwd entry (then the tests do not run as root either).
    """
    try:
        return [f'user = "{pwd.getpwuid(os.geteuid()).pw_name}"']
    except KeyError:
        return []


def l4_config(port: int, backends, *, balance: str = "round_robin", grace: str = "2s",
              client_idle: str | None = None, connect_timeout: str | None = None,
              workers: int = 1) -> str:
    """The minimal one-listener tcp config; `backends` holds ports or (port, weight) pairs."""
    lines = [
        "[runtime]", f"workers = {workers}", f'grace_period = "{grace}"', *runtime_user_lines(),
        "", "[log]", 'level = "info"', 'access = "off"', "",
        "[listeners.l4]", f'bind = "{HOST}:{port}"', 'protocol = "tcp"', 'pool = "app"', "",
    ]
    if client_idle:
        lines += ["[listeners.l4.timeouts]", f'client_idle = "{client_idle}"', ""]
    lines += ["[pools.app]", f'balance = "{balance}"', "backends = ["]
    for backend in backends:
        port_, weight = backend if isinstance(backend, tuple) else (backend, None)
        weight_part = "" if weight is None else f", weight = {weight}"
        lines.append(f'  {{ address = "{HOST}:{port_}"{weight_part} }},')
    lines.append("]")
    if connect_timeout:
        lines += ["", "[pools.app.timeouts]", f'connect = "{connect_timeout}"']
    return "\n".join(lines) + "\n"


class RinglbTestCase(unittest.TestCase):
    """Gives each test a temp dir, backends and a ringlb that are always cleaned up.

    Skips when RINGLB_BIN is unset (running the files by hand without a build); fails when it
    is set but not executable, so a broken build is never reported as a pass.
    """

    def setUp(self):
        binary = ringlb_bin()
        if not binary:
            self.skipTest("RINGLB_BIN is not set")
        self.assertTrue(os.access(binary, os.X_OK), f"RINGLB_BIN={binary} is not executable")
        tmp = tempfile.TemporaryDirectory(prefix="ringlb-it-")
        self.addCleanup(tmp.cleanup)
        self.tmpdir = tmp.name
        self.ringlb: Ringlb | None = None

    def backend(self, cls, *args, **kwargs):
        server = cls(*args, **kwargs)
        self.addCleanup(server.close)
        return server

    def client(self, port: int, timeout: float = DEFAULT_TIMEOUT) -> socket.socket:
        sock = connect(port, timeout)
        self.addCleanup(sock.close)
        return sock

    def write_config(self, text: str) -> str:
        return write_config(self.tmpdir, text)

    def start_ringlb(self, config_text: str, port: int, probe: str = "listen",
                     env: dict[str, str] | None = None) -> Ringlb:
        path = self.write_config(config_text)
        self.ringlb = Ringlb(path, self.tmpdir, env)
        self.addCleanup(self._stop_ringlb, self.ringlb)
        return self.ringlb.start(port, probe=probe)

    def _stop_ringlb(self, proc: Ringlb):
        if self._has_failed():
            print(f"\n{self.id()}\n{proc.log_tail()}", file=sys.stderr)
        proc.cleanup()

    def _has_failed(self) -> bool:
        """True once this test has a recorded failure or error (read from the unittest result)."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        problems = getattr(result, "failures", []) + getattr(result, "errors", [])
        return any(test is self for test, _ in problems)

    def assertExits(self, code: int, within: float):
        """ringlb exits with `code` within `within` seconds."""
        got = self.ringlb.wait_exit(within)
        self.assertIsNotNone(got, f"ringlb still running after {within}s")
        self.assertEqual(got, code, f"ringlb exit code\n{self.ringlb.log_tail()}")


def diagnostic_lines(text: str, path: str) -> list[tuple[int, int, str]]:
    """(line, column, message) of every `PATH:LINE:COL: message` in `text` (not warnings)."""
    pattern = re.compile(re.escape(path) + r":(\d+):(\d+): (.*)")
    found = []
    for match in pattern.finditer(text):
        if not match.group(3).startswith("warning:"):
            found.append((int(match.group(1)), int(match.group(2)), match.group(3)))
    return found
