# A TLS peer that never reads cannot make ringlb hold its replies without bound: each TLS 1.3
# KeyUpdate request (update_requested) makes ringlb's OpenSSL write a KeyUpdate back, and a peer
# that sends hundreds of thousands of them and reads nothing must find ringlb stop reading it
# (as a plain socket's sender would), not queue ~27 bytes a request until the connection closes.
# Checked on a tls tcp listener, an https listener (HTTP/1.1 and h2), and toward a backend of a
# TLS pool; each time ringlb's RSS stays flat, another client is served, and the stalled
# connection ends at its idle timeout. A TLS health check that such a backend floods fails.
import os
import select
import socket
import ssl
import threading
import time
import unittest

from harness import (HOST, EchoBackend, RinglbTestCase, echo_roundtrip, free_port, rss_bytes,
                     runtime_user_lines)
from http_harness import HttpBackend, HttpTestCase, http_config
from rss_sampler import RssSampler
from test_health import HealthTestCase, health_config
from test_tls_backend import TlsEchoBackend, pool_tls_section, tls_tcp_config
from test_tls_http import HttpsConn, tls_section
from tls_harness import Pki, client_context, have_openssl, server_context, tls_connect
from tls_key_update import KeyUpdatePeer

REQUESTS = 400_000  # ~11 MB of replies (~27 bytes each), of which the kernel holds ~4 MB
MAX_GROWTH = 3 << 20  # what ringlb may grow by while they are sent: buffers, not the replies
# A worker's buffer ring is touched as it turns (512 x 16 KiB by default), which would show in
# the RSS as growth however the replies are held: a small ring keeps the measure about them.
# Under AddressSanitizer (the CI's second run) every KeyUpdate's freed cipher contexts would sit
# in its quarantine (256 MB by default) and pass for growth: the flood runs without one (only
# use-after-free detection in these tests is weakened). A plain build ignores the variable.
FLOOD_ENV = {"RINGLB_LEVER_RECEIVE_BUFFERS": "32", "ASAN_OPTIONS": "quarantine_size_mb=0"}
PEER_SOCKET_BUFFER = 4096  # the flooding peer's own buffers: the stall comes sooner
# The client preface, empty SETTINGS, and HEADERS (END_STREAM | END_HEADERS) of stream 1 for
# GET https://a.test/ (HPACK: static :method GET, :scheme https, :path /, :authority literal).
_GET = bytes([0x82, 0x87, 0x84, 0x41, 6]) + b"a.test"
H2_PREFACE_AND_GET = (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
                      + len(_GET).to_bytes(3, "big") + bytes([1, 5, 0, 0, 0, 1]) + _GET)
IDLE = 3  # seconds: the listeners' client_idle, which ends a stalled connection


def small_buffers(sock: socket.socket):
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, option, PEER_SOCKET_BUFFER)


def assert_reset_by_peer(test, sock: socket.socket, within: float):
    """The other end closed `sock` with a reset: it had not read what this side sent. (Polled,
    not read: the replies this side never read still wait in its buffer.)"""
    poller = select.poll()
    poller.register(sock, select.POLLERR | select.POLLHUP)
    test.assertTrue(poller.poll(within * 1000),
                    f"the stalled connection is still open after {within}s")


def assert_closed_by_peer(test, sock: socket.socket, within: float):
    """The other end closed `sock`, which has nothing to read before the end."""
    sock.settimeout(within)
    try:
        test.assertEqual(sock.recv(1), b"", "the connection carried bytes")
    except ConnectionResetError:
        pass
    except TimeoutError:
        test.fail(f"the stalled connection is still open after {within}s")


class KeyUpdateFloodBackend:
    """A TLS 1.3 backend whose connection number `flood_on` (1-based; 0: every one) sends
    `count` KeyUpdate requests and never reads; the others echo (through Python's ssl)."""

    def __init__(self, cert: str, key: str, count: int, flood_on: int = 0):
        self.cert, self.key, self.count, self.flood_on = cert, key, count, flood_on
        self.echo_context = server_context(cert, key)
        self.sent: int | None = None
        self.flood_done = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        small_buffers(self._listener)  # accepted sockets inherit them
        self.port = self._listener.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            floods = self.flood_on in (0, len(self._conns))
            target = self._flood if floods else self._echo
            threading.Thread(target=target, args=(conn,), daemon=True).start()

    def _flood(self, conn: socket.socket):
        try:
            peer = KeyUpdatePeer(conn, server=True, cert=self.cert, key=self.key)
            try:
                self.sent = peer.flood(self.count)
            finally:
                peer.close()
        except OSError:
            pass
        finally:
            self.flood_done.set()

    def _echo(self, conn: socket.socket):
        try:
            with self.echo_context.wrap_socket(conn, server_side=True) as tls:
                while data := tls.recv(1 << 16):
                    tls.sendall(data)
        except OSError:
            pass

    def close(self):
        self._listener.close()
        for conn in self._conns:
            conn.close()
        self._thread.join(timeout=5)


class FloodMixin:
    def flood_from_client(self, port: int, first: bytes = b"", **options):
        """A client that connects, completes a TLS 1.3 handshake, sends `first`, then KeyUpdate
        requests, and never reads; returns its socket (left open) and how many were sent."""
        sock = socket.socket()
        self.addCleanup(sock.close)
        small_buffers(sock)
        sock.settimeout(10)
        sock.connect((HOST, port))
        peer = KeyUpdatePeer(sock, server_name="a.test", **options)
        self.addCleanup(peer.close)
        if first:
            peer.write(first)
        return sock, peer.flood(REQUESTS)

    def assert_rss_flat(self, pid: int, before: int, flood):
        with RssSampler(pid) as sampler:
            result = flood()
        growth = max(sampler.peak, rss_bytes(pid)) - before
        self.assertLess(growth, MAX_GROWTH,
                        f"ringlb grew by {growth >> 10} KiB while a peer that never reads sent "
                        f"KeyUpdate requests")
        return result


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class KeyUpdatesToTcpListenersTest(FloodMixin, RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.port = free_port()

    def config(self, backend_port: int, extra: str = "", idle: int = IDLE) -> str:
        return "\n".join([
            "[runtime]", "workers = 1", *runtime_user_lines(), "[log]", 'access = "off"',
            "[listeners.l4]", f'bind = "{HOST}:{self.port}"', 'protocol = "tcp"', 'pool = "app"',
            "[listeners.l4.timeouts]", f'client_idle = "{idle}s"',
            "[pools.app]", f'backends = [ {{ address = "{HOST}:{backend_port}" }} ]',
        ]) + "\n" + extra

    def test_a_client_that_never_reads_stalls_and_others_are_served(self):
        self.flood_tls_listener(FLOOD_ENV)

    def test_with_memory_bios_a_client_that_never_reads_stalls_too(self):
        self.flood_tls_listener({**FLOOD_ENV, "RINGLB_LEVER_TLS_MEMORY_BIOS": "1"})

    def test_a_client_that_stalls_then_reads_is_read_again(self):
        echo = self.backend(EchoBackend)
        front = self.pki.leaf("a", ["a.test"])
        config = self.config(echo.port, tls_section("l4", [front]), idle=30)
        self.start_ringlb(config, self.port, env=FLOOD_ENV)
        peer = stall_then_read(self, self.port)
        early = write_while_reading(self, peer, b"after the stall")
        self.assertEqual(read_until(self, peer, b"after the stall", early), b"after the stall")

    def flood_tls_listener(self, env):
        echo = self.backend(EchoBackend)
        front = self.pki.leaf("a", ["a.test"])
        ringlb = self.start_ringlb(self.config(echo.port, tls_section("l4", [front])), self.port,
                                   env=env)
        with tls_connect(self.port, client_context(self.pki), "a.test") as warm:
            self.assertEqual(echo_roundtrip(warm, b"warm" * 4096), b"warm" * 4096)
        before = ringlb.rss()
        sock, sent = self.assert_rss_flat(ringlb.pid, before,
                                          lambda: self.flood_from_client(self.port))
        self.assertLess(sent, REQUESTS, "ringlb kept reading a client that reads nothing")
        with tls_connect(self.port, client_context(self.pki), "a.test") as other:
            payload = os.urandom(100_000)
            self.assertEqual(echo_roundtrip(other, payload, timeout=10), payload)
        assert_reset_by_peer(self, sock, IDLE + 3)

    def test_a_tls_backend_that_never_reads_stalls_and_others_are_served(self):
        cert, key = self.pki.leaf("app", ["app.internal"])
        # The first connection warms ringlb up, the second floods, later ones show that ringlb
        # serves other clients.
        flooder = KeyUpdateFloodBackend(cert, key, REQUESTS, flood_on=2)
        self.addCleanup(flooder.close)
        config = self.config(flooder.port, pool_tls_section("app", self.pki.ca, "app.internal"))
        ringlb = self.start_ringlb(config, self.port, env=FLOOD_ENV)
        warm = self.client(self.port, timeout=10)
        self.assertEqual(echo_roundtrip(warm, b"warm" * 4096, timeout=10), b"warm" * 4096)
        before = ringlb.rss()
        client = self.client(self.port, timeout=10)

        def flood():
            self.assertTrue(flooder.flood_done.wait(60), "the backend's flood did not end")
        self.assert_rss_flat(ringlb.pid, before, flood)
        self.assertIsNotNone(flooder.sent, "the backend's TLS handshake failed")
        self.assertLess(flooder.sent, REQUESTS, "ringlb kept reading a backend that reads nothing")
        other = self.client(self.port, timeout=10)
        payload = os.urandom(100_000)
        self.assertEqual(echo_roundtrip(other, payload, timeout=10), payload)
        assert_closed_by_peer(self, client, IDLE + 3)


def stall_then_read(test, port: int) -> KeyUpdatePeer:
    """A client that floods KeyUpdate requests until ringlb stops reading it, then reads every
    reply: ringlb's send completes, and it reads the requests still waiting, and what follows."""
    sock = socket.socket()
    test.addCleanup(sock.close)
    small_buffers(sock)
    sock.connect((HOST, port))
    peer = KeyUpdatePeer(sock, server_name="a.test")
    test.addCleanup(peer.close)
    test.assertLess(peer.flood(REQUESTS), REQUESTS,
                    "ringlb kept reading a client that reads nothing")
    while peer.read(patience=1.0):
        pass
    return peer


def write_while_reading(test, peer: KeyUpdatePeer, data: bytes) -> bytes:
    """Writes `data`, reading what comes meanwhile, and returns that. stall_then_read's drain
    ends after a second without a byte, which on a loaded machine can come while ringlb still
    has replies to send: a client that then only wrote would wait on ringlb, which waits (past
    its bound) for the client to read them."""
    received = b""
    # ringlb first works through every KeyUpdate request still queued in the kernel (a few MB,
    # each a key derivation): seconds in a release build, over 20 s under ASan on a busy machine.
    deadline = time.monotonic() + 120
    while not peer.try_write(data, patience=0.5):
        test.assertLess(time.monotonic(), deadline, "ringlb did not read the client again")
        received += peer.read(patience=0.5)
    return received


def read_until(test, peer: KeyUpdatePeer, expected: bytes, received: bytes = b"") -> bytes:
    """Application data until it holds `expected` (10 s between reads at most)."""
    while expected not in received:
        data = peer.read(patience=10)
        test.assertTrue(data, f"ringlb did not read the client again after it read: {received!r}")
        received += data
    return received


def full_duplex_echo(sock: ssl.SSLSocket, payload: bytes, timeout: float) -> bytes:
    """Sends `payload` while reading the echo, both at once (one thread, non-blocking)."""
    sock.setblocking(False)
    sent, received = 0, bytearray()
    deadline = time.monotonic() + timeout
    while len(received) < len(payload) and time.monotonic() < deadline:
        writing = [sock] if sent < len(payload) else []
        readable, writable, _ = select.select([sock], writing, [], 1)
        if readable or sock.pending():
            try:
                data = sock.recv(1 << 16)
                if not data:
                    break
                received += data
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        if writable:
            try:  # a retry after SSLWantWrite passes the same bytes, as OpenSSL asks
                sent += sock.send(payload[sent:sent + (64 << 10)])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
    return bytes(received)


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class FullDuplexOverTlsTest(RinglbTestCase):
    """The bound never pauses a peer that reads: both directions busy at once, TLS on both
    sockets of a tcp listener (each channel then carries data one way and ringlb's part of the
    records the other way)."""

    def test_a_full_duplex_transfer_through_tls_on_both_sides_arrives_whole(self):
        pki = Pki(os.path.join(self.tmpdir, "pki"))
        echo = self.backend(TlsEchoBackend, server_context(*pki.leaf("app", ["app.internal"])))
        front = pki.leaf("a", ["a.test"])
        port = free_port()
        self.start_ringlb(tls_tcp_config(port, echo.port, pki, front), port)
        payload = os.urandom(8 << 20)
        with tls_connect(port, client_context(pki), "a.test") as sock:
            received = full_duplex_echo(sock, payload, timeout=60)
        self.assertEqual(len(received), len(payload))
        self.assertEqual(received, payload)


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class KeyUpdatesToHealthChecksTest(HealthTestCase):
    def test_a_backend_that_floods_a_tls_check_fails_it_at_once(self):
        pki = Pki(os.path.join(self.tmpdir, "pki"))
        flooder = KeyUpdateFloodBackend(*pki.leaf("app", ["app.internal"]), REQUESTS)
        self.addCleanup(flooder.close)
        port = free_port()
        config = health_config(port, [flooder.port], timeout="5s", interval="1s",
                               health_lines=['initial_state = "unknown"'])
        self.start_ringlb(config + pool_tls_section("app", pki.ca, "app.internal"), port,
                          env=FLOOD_ENV)
        # Without the bound the check would read KeyUpdates, queueing replies, until its 5 s.
        line = self.wait_log("health check: TLS error: too many post-handshake messages",
                             timeout=4)
        self.assertIn(f"{HOST}:{flooder.port}", line)


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class KeyUpdatesToHttpsListenersTest(FloodMixin, HttpTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.a = self.pki.leaf("a", ["a.test"])
        self.backend_ = self.backend(HttpBackend, "plain")
        self.port = free_port()

    def start(self, idle: int = IDLE):
        config = http_config(self.port, [self.backend_.port], client_idle=f"{idle}s",
                             header_timeout=f"{idle}s")
        self.ringlb_ = self.start_ringlb(config + tls_section("web", [self.a]), self.port,
                                         env=FLOOD_ENV)

    def assert_served(self):
        conn = HttpsConn(self.port, client_context(self.pki, alpn=["http/1.1"]))
        self.addCleanup(conn.close)
        self.assertEqual(conn.request("GET", "/after").status, 200)

    def flood(self, alpn: bytes, first: bytes = b""):
        self.start()
        with HttpsConn(self.port, client_context(self.pki, alpn=["http/1.1"])) as warm:
            self.assertEqual(warm.request("GET", "/warm").status, 200)
        before = self.ringlb_.rss()
        sock, sent = self.assert_rss_flat(
            self.ringlb_.pid, before, lambda: self.flood_from_client(self.port, first, alpn=alpn))
        self.assertLess(sent, REQUESTS, "ringlb kept reading a client that reads nothing")
        self.assert_served()
        assert_reset_by_peer(self, sock, IDLE + 3)

    def test_an_http1_client_that_stalls_then_reads_is_served_again(self):
        self.start(idle=30)  # the wait for the stall must not end the connection
        peer = stall_then_read(self, self.port)
        early = write_while_reading(self, peer, b"GET /again HTTP/1.1\r\nHost: a.test\r\n\r\n")
        self.assertIn(b"HTTP/1.1 200", read_until(self, peer, b"\r\n\r\n", early))

    def test_an_http1_client_that_never_reads_stalls_and_others_are_served(self):
        # Mid-upload: the connection's deadline is then client_idle from its last byte (an idle
        # keep-alive connection's runs from the start of the wait, flood or not).
        self.flood(b"http/1.1", b"POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 9\r\n\r\n")

    def test_an_h2_client_that_never_reads_stalls_and_others_are_served(self):
        # A request first: the stalled connection then ends at client_idle, not at the header
        # timeout of an h2 connection that never opened a stream.
        self.flood(b"h2", H2_PREFACE_AND_GET)


if __name__ == "__main__":
    unittest.main()
