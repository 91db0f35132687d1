# Hostile peers on an upgraded (WebSocket) connection and at start-up. A FIN from one side of a
# tunnel ends only that direction: the other side's bytes still flow, then its own FIN ends the
# tunnel. On a TLS listener close_notify is the client's FIN, and ringlb's half-close toward the
# client is close_notify then FIN; a backend reset reaches that client without close_notify. A
# SIGHUP sent in the first moments of start-up never kills the process.
import hashlib
import os
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import unittest

from harness import (HOST, EchoBackend, RinglbTestCase, _ThreadedServer, echo_roundtrip,
                     free_port, is_listening, l4_config, ringlb_bin, wait_until)
from http_harness import HttpTestCase, build_request, http_config, pattern_bytes
from tls_harness import Pki, client_context, have_openssl, server_context

WS_HEADERS = [("Connection", "Upgrade"), ("Upgrade", "websocket"),
              ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]
GREETING = b"hello from backend\n"
SWITCHING = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
             b"Connection: Upgrade\r\nSec-WebSocket-Accept: test\r\n\r\n")
# Bigger than a provided buffer and than the socket buffers, so each half-closed direction
# still carries many sends (and backpressure) after the other one ended.
PAYLOAD = 512 * 1024


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class HalfCloseWsBackend(_ThreadedServer):
    """Answers an upgrade with 101 and a greeting, then plays one half-close scenario.

    "client-first": reads until the client's FIN, waits a little, then sends `reply` and closes.
    "backend-first": shuts its sending side at once (SHUT_WR), then reads until the client's FIN.
    "reset": resets the connection (RST) a moment after the greeting.
    `received` holds, per connection, every tunnel byte that arrived after the request head.
    """

    def __init__(self, scenario: str, reply: bytes = b"", tls: ssl.SSLContext | None = None):
        self.scenario = scenario
        self.reply = reply
        self.tls = tls
        self.received: list[bytes] = []
        self.finished = threading.Event()  # a connection saw the client's FIN
        super().__init__()

    def handle(self, conn):
        if self.tls is None:
            return self.play(conn)
        # Without suppress_ragged_eofs a FIN that comes without close_notify raises.
        with self.tls.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False) as tls:
            self.play(tls)

    def play(self, conn):
        head = bytearray()
        while b"\r\n\r\n" not in head:
            data = conn.recv(4096)
            if not data:
                return
            head += data
        got = bytearray(head[head.index(b"\r\n\r\n") + 4:])
        conn.sendall(SWITCHING + GREETING)
        if self.scenario == "reset":
            time.sleep(0.1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return  # closing with a zero linger sends RST
        if self.scenario == "backend-first":
            conn.shutdown(socket.SHUT_WR)
        while data := conn.recv(1 << 16):
            got += data
        self.received.append(bytes(got))
        self.finished.set()
        if self.scenario == "client-first":
            time.sleep(0.2)  # well after the FIN: nothing of the reply races it
            conn.sendall(self.reply)
            if self.tls is not None:
                conn.unwrap()  # close_notify back; the client's came already


class PlainTunnelClient:
    """The client end of a tunnel over a plain socket."""

    def __init__(self, port: int):
        self.sock = socket.create_connection((HOST, port), timeout=10)

    def send(self, data: bytes):
        self.sock.sendall(data)

    def recv(self) -> bytes:
        """The next bytes; b"" at the end of the peer's data."""
        return self.sock.recv(1 << 16)

    def half_close(self):
        self.sock.shutdown(socket.SHUT_WR)

    def ended_cleanly(self) -> bool:
        return True  # a plain FIN has no other kind of end

    def close(self):
        self.sock.close()


class TlsTunnelClient:
    """The client end of a tunnel over TLS, driven through memory BIOs so that close_notify
    can be sent while the connection keeps reading (Python's unwrap() would wait for the
    peer's)."""

    def __init__(self, port: int, context: ssl.SSLContext, server_name: str):
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_name)
        self.clean_end = False
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self.incoming.write(self.sock.recv(1 << 16) or b"")
        self._flush()

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def send(self, data: bytes):
        self.tls.write(data)
        self._flush()

    def recv(self) -> bytes:
        """The next plaintext; b"" at the end (clean after close_notify, else a bare FIN)."""
        while True:
            try:
                data = self.tls.read(1 << 16)
                self.clean_end = not data
                return data
            except ssl.SSLZeroReturnError:
                self.clean_end = True
                return b""
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(1 << 16)
                if not data:
                    return b""  # FIN without close_notify: a truncation
                self.incoming.write(data)

    def half_close(self):
        """close_notify, the TLS client's FIN; the socket stays open both ways."""
        try:
            self.tls.unwrap()
        except ssl.SSLWantReadError:
            pass  # close_notify was written; the peer's has not come (and need not)
        self._flush()

    def ended_cleanly(self) -> bool:
        return self.clean_end

    def close(self):
        self.sock.close()


class TunnelHelpers:
    """An upgraded connection and both half-close checks; subclasses say how ringlb starts and
    how the client connects (plain or TLS)."""

    def connect(self):
        raise NotImplementedError

    def start_with(self, backend) -> None:
        raise NotImplementedError

    def upgrade(self):
        client = self.connect()
        self.addCleanup(client.close)
        client.send(build_request("GET", "/ws", WS_HEADERS, host="ws.test"))
        data = bytearray()
        while not data.endswith(GREETING):
            piece = client.recv()
            self.assertTrue(piece, f"no 101 and greeting, got {bytes(data)!r}")
            data += piece
        self.assertTrue(data.startswith(b"HTTP/1.1 101 "), bytes(data))
        return client

    def read_to_end(self, client, timeout: float = 10.0) -> bytes:
        data = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                piece = client.recv()
            except OSError as e:  # a reset, or nothing more within the socket's timeout
                self.fail(f"no clean end after {len(data)} bytes: {e!r}")
            if not piece:
                return bytes(data)
            data += piece
        self.fail(f"no end of data after {timeout}s ({len(data)} bytes)")

    def check_client_half_close(self, backend_tls: ssl.SSLContext | None = None):
        reply = pattern_bytes(PAYLOAD)
        backend = self.backend(HalfCloseWsBackend, "client-first", reply, backend_tls)
        self.start_with(backend)
        client = self.upgrade()
        sent = os.urandom(100_000)
        client.send(sent)
        client.half_close()
        received = self.read_to_end(client)
        self.assertEqual(len(received), len(reply),
                         "the backend's bytes sent after the client's FIN were lost")
        self.assertEqual(digest(received), digest(reply), "tunnelled bytes differ")
        self.assertTrue(client.ended_cleanly(), "the end reached the client unclean")
        self.assertTrue(backend.finished.wait(5), "the client's FIN never reached the backend")
        self.assertEqual(digest(backend.received[0]), digest(sent))
        self.assertTrue(wait_until(lambda: backend.active == 0, 5),
                        "the backend connection stayed open after both sides ended")

    def check_backend_half_close(self):
        backend = self.backend(HalfCloseWsBackend, "backend-first")
        self.start_with(backend)
        client = self.upgrade()
        self.assertEqual(self.read_to_end(client, 5), b"",
                         "the backend's FIN did not reach the client")
        self.assertTrue(client.ended_cleanly(), "the backend's FIN reached the client unclean")
        sent = pattern_bytes(PAYLOAD)
        try:
            for i in range(0, len(sent), 65536):
                client.send(sent[i:i + 65536])
            client.half_close()
        except OSError as e:
            self.fail(f"the tunnel refused the client's bytes after the backend's FIN: {e}")
        self.assertTrue(backend.finished.wait(10),
                        "the client's bytes after the backend's FIN never all arrived")
        self.assertEqual(len(backend.received[0]), len(sent))
        self.assertEqual(digest(backend.received[0]), digest(sent), "tunnelled bytes differ")
        self.assertTrue(wait_until(lambda: backend.active == 0, 5),
                        "the backend connection stayed open after both sides ended")


class HalfClosedTunnelTests(TunnelHelpers):
    def test_client_half_close_still_delivers_everything_the_backend_sends_after_it(self):
        self.check_client_half_close()

    def test_backend_half_close_still_delivers_everything_the_client_sends_after_it(self):
        self.check_backend_half_close()


class PlainTunnelHalfCloseTest(HalfClosedTunnelTests, HttpTestCase):
    def start_with(self, backend):
        self.port = self.start_http([backend.port])

    def connect(self):
        return PlainTunnelClient(self.port)


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class TlsTunnelHalfCloseTest(HalfClosedTunnelTests, HttpTestCase):
    def start_with(self, backend):
        pki = Pki(os.path.join(self.tmpdir, "pki"))
        cert, key = pki.leaf("a", ["a.test"])
        self.context = client_context(pki, alpn=["http/1.1"])
        self.port = free_port()
        tls = f'\n[listeners.web.tls]\ncertificates = [ {{ cert = "{cert}", key = "{key}" }} ]\n'
        self.start_ringlb(http_config(self.port, [backend.port]) + tls, self.port)

    def connect(self):
        return TlsTunnelClient(self.port, self.context, "a.test")

    def test_a_backend_reset_reaches_the_tls_client_as_an_unclean_end(self):
        self.start_with(self.backend(HalfCloseWsBackend, "reset"))
        client = self.upgrade()
        try:
            self.assertEqual(client.recv(), b"")
        except ConnectionResetError:
            return  # a reset is unclean too
        self.assertFalse(client.ended_cleanly(),
                         "close_notify after a backend reset: the client takes a cut stream "
                         "for a whole one")


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class TlsBackendTunnelHalfCloseTest(TunnelHelpers, HttpTestCase):
    """A TLS pool: the client's FIN reaches the backend as close_notify (a bare FIN would raise
    in the backend), and the backend's close_notify after its reply is its FIN."""

    def start_with(self, backend):
        self.port = free_port()
        config = http_config(self.port, [backend.port])
        config += f'\n[pools.app.tls]\nca = "{self.pki.ca}"\nsni = "app.internal"\n'
        self.start_ringlb(config, self.port)

    def connect(self):
        return PlainTunnelClient(self.port)

    def test_client_half_close_still_delivers_everything_the_backend_sends_after_it(self):
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.check_client_half_close(server_context(*self.pki.leaf("app", ["app.internal"])))


def wait_until_running(pid: int, timeout: float = 5.0) -> bool:
    """True once the process runs code past the dynamic loader: it has blocked SIGHUP, or its
    libraries' constructors have begun (its brk heap exists). Nothing in a program can act
    while the loader maps its libraries, so a signal sent before then would test the loader."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/status") as status:
                blocked = next(line for line in status if line.startswith("SigBlk:"))
            if int(blocked.split()[1], 16) & (1 << (signal.SIGHUP - 1)):
                return True
            with open(f"/proc/{pid}/maps") as maps:
                if "[heap]" in maps.read():
                    return True
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            return False  # it exited already
    return False


class EarlySighupTest(RinglbTestCase):
    def test_sighup_in_the_first_moments_of_start_up_never_kills_ringlb(self):
        echo = self.backend(EchoBackend)
        port = free_port()
        config = self.write_config(l4_config(port, [echo.port]))
        stderr_path = os.path.join(self.tmpdir, "early-sighup.stderr")
        for attempt in range(20):
            delay = (attempt % 5) * 0.002  # at once, then 2, 4, 6 and 8 ms later
            with open(stderr_path, "wb") as stderr:
                proc = subprocess.Popen([ringlb_bin(), "-c", config], stdout=subprocess.DEVNULL,
                                        stderr=stderr, stdin=subprocess.DEVNULL)
            try:
                wait_until_running(proc.pid)
                if delay:
                    time.sleep(delay)
                proc.send_signal(signal.SIGHUP)
                started = wait_until(lambda: is_listening(port) or proc.poll() is not None, 10)
                with open(stderr_path, errors="replace") as log:
                    detail = f"attempt {attempt} (+{delay * 1000:.0f} ms):\n{log.read()[-2000:]}"
                self.assertTrue(started, f"not listening after 10 s, {detail}")
                self.assertIsNone(proc.poll(), f"SIGHUP at start-up ended ringlb with "
                                               f"{proc.returncode}, {detail}")
                with socket.create_connection((HOST, port), timeout=5) as sock:
                    self.assertEqual(echo_roundtrip(sock, b"alive"), b"alive", detail)
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(10), 0, detail)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    unittest.main()
