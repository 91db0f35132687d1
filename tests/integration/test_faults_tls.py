# Hostile TLS peers and broken backends behind TLS listeners (issue 16): a client's close_notify
# ends its data as a FIN does, so records sent after it cannot pile up in ringlb's memory; the
# whole handshake has one deadline however slowly its bytes trickle in; a backend that resets
# reaches the TLS client as an unclean end, never as close_notify; new handshakes beyond
# runtime.max_tls_handshakes_per_second are refused before they cost a signature.
# TLS records are made by hand with ssl.SSLObject over memory BIOs where a test needs bytes a
# well-behaved client would never send.
import os
import socket
import ssl
import threading
import time
import unittest

from harness import (HOST, RinglbTestCase, _ThreadedServer, free_port, runtime_user_lines,
                     wait_closed)
from tls_harness import Pki, client_context, have_openssl, tls_connect

HANDSHAKE_DEADLINE = 1.0  # seconds: tls_handshake in the config below


class TruncatingBackend(_ThreadedServer):
    """Reads a request head, answers a close-delimited HTTP/1.0 response in two parts, then
    ends with a reset (`reset = True`) or with a FIN after the whole body."""

    reset = True
    body = b"x" * 1000

    def handle(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            piece = conn.recv(4096)
            if not piece:
                return
            data += piece
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + self.body)
        time.sleep(0.3)  # the head and the first part reach the client before the end
        if self.reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        else:
            conn.sendall(self.body)


def config(http_port: int, tcp_port: int, backend_port: int, cert, *,
           handshake_deadline: bool = False, handshakes_per_second: int | None = None) -> str:
    tls = f'[{{ cert = "{cert[0]}", key = "{cert[1]}" }}]'
    runtime = ["[runtime]", "workers = 1", 'grace_period = "1s"', *runtime_user_lines()]
    if handshakes_per_second is not None:
        runtime.append(f"max_tls_handshakes_per_second = {handshakes_per_second}")
    lines = runtime + ["[log]", 'level = "debug"', 'access = "off"']
    for name, port, protocol in (("web", http_port, "http"), ("l4", tcp_port, "tcp")):
        lines += [f"[listeners.{name}]", f'bind = "{HOST}:{port}"', f'protocol = "{protocol}"',
                  'pool = "app"',
                  f"[listeners.{name}.timeouts]", 'header = "30s"', 'client_idle = "30s"']
        if handshake_deadline:
            lines.append(f'tls_handshake = "{HANDSHAKE_DEADLINE:g}s"')
        lines += [f"[listeners.{name}.tls]", f"certificates = {tls}"]
    lines += ["[pools.app]", f'backends = [ {{ address = "{HOST}:{backend_port}" }} ]']
    return "\n".join(lines) + "\n"


def client_hello(context: ssl.SSLContext) -> bytes:
    """The bytes of a fresh ClientHello, as a client's first flight."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="a.test")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


class ManualTls:
    """A TLS client over a plain socket through memory BIOs: every record is ours to send."""

    def __init__(self, port: int, context: ssl.SSLContext, timeout: float = 5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname="a.test")
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                data = self.sock.recv(1 << 16)
                if not data:
                    raise ConnectionError("closed during the handshake")
                self.incoming.write(data)
        self.flush()

    def flush(self):
        data = self.outgoing.read()
        if data:
            self.sock.sendall(data)

    def close_notify(self):
        try:
            self.tls.unwrap()
        except ssl.SSLWantReadError:
            pass  # the server's close_notify has not come yet; ours is in the BIO
        self.flush()

    def close(self):
        self.sock.close()


def read_to_end(sock: ssl.SSLSocket, timeout: float = 5.0) -> bytes:
    """Everything until the end of the stream; raises ssl.SSLEOFError on an end without
    close_notify (the socket is made with suppress_ragged_eofs=False)."""
    sock.settimeout(timeout)
    chunks = []
    while True:
        data = sock.recv(1 << 16)
        if not data:
            return b"".join(chunks)
        chunks.append(data)



@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class TlsFaultsTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.cert = self.pki.leaf("a", ["a.test"])
        self.context = client_context(self.pki)
        self.backend_ = self.backend(TruncatingBackend)
        self.http_port, self.tcp_port = free_port(), free_port()

    def start(self, **options):
        return self.start_ringlb(config(self.http_port, self.tcp_port, self.backend_.port,
                                        self.cert, **options), self.http_port)

    # ---- close_notify ends the client's data ----

    def test_records_after_close_notify_are_not_kept_in_memory(self):
        ringlb = self.start()
        client = ManualTls(self.http_port, self.context)
        self.addCleanup(client.close)
        before = ringlb.rss()
        client.close_notify()
        # Whatever follows close_notify is never decrypted; record-shaped bytes do.
        record = b"\x17\x03\x03\x40\x00" + os.urandom(16384)
        flood = record * 16
        client.sock.settimeout(0.5)
        sent, closed = 0, False
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not closed:
            try:
                sent += client.sock.send(flood)
            except TimeoutError:
                continue  # nobody reads: the kernel's buffers are full
            except (BrokenPipeError, ConnectionResetError):
                closed = True  # ringlb closed the connection: the end of the client's data
        grown = ringlb.rss() - before
        self.assertLess(grown, 16 << 20, f"ringlb grew by {grown} bytes after {sent} sent")
        self.assertTrue(closed, f"ringlb still reads after close_notify ({sent} bytes sent)")
        self.assertTrue(ringlb.alive())

    def test_a_request_then_close_notify_still_gets_its_response(self):
        self.backend_.reset = False
        self.start()
        client = ManualTls(self.http_port, self.context)
        self.addCleanup(client.close)
        client.tls.write(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        client.close_notify()  # half-close: TLS 1.3 lets the server still answer
        received = b""
        client.sock.settimeout(5)
        while True:
            data = client.sock.recv(1 << 16)
            if not data:
                break
            client.incoming.write(data)
            try:
                while True:
                    received += client.tls.read(1 << 16)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                pass
        self.assertTrue(received.startswith(b"HTTP/1.1 200"), received[:100])
        # Close-delimited from the backend, chunked to the keep-alive client: the whole body.
        self.assertTrue(received.endswith(b"\r\n0\r\n\r\n"), received[-100:])
        body = received.split(b"\r\n\r\n", 1)[1]
        self.assertEqual(body.count(b"x"), 2 * len(TruncatingBackend.body))

    # ---- one deadline for the whole handshake ----

    def handshake_closed_at_deadline(self, port: int, trickle: bool) -> float:
        hello = client_hello(self.context)
        sock = socket.create_connection((HOST, port), timeout=5)
        self.addCleanup(sock.close)
        start = time.monotonic()
        sock.sendall(hello[:5])  # a record header: the ClientHello is on its way
        limit = start + HANDSHAKE_DEADLINE + 3
        for byte in hello[5:-1]:  # never the last byte
            if wait_closed(sock, 0.1 if trickle else limit - start):
                return time.monotonic() - start
            if time.monotonic() > limit:
                break
            try:
                sock.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start
        self.fail(f"the handshake on port {port} was still open after "
                  f"{time.monotonic() - start:.1f}s (trickle={trickle})")

    def test_stalled_and_trickled_handshakes_close_at_the_deadline(self):
        self.start(handshake_deadline=True)
        results = {}

        def run(name, port, trickle):
            results[name] = self.handshake_closed_at_deadline(port, trickle)

        # Concurrently: four connections that each must wait out the deadline.
        threads = [threading.Thread(target=run, args=args) for args in (
            ("http stalled", self.http_port, False), ("http trickled", self.http_port, True),
            ("tcp stalled", self.tcp_port, False), ("tcp trickled", self.tcp_port, True))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        self.assertEqual(len(results), 4, "a handshake outlived its deadline (see the failure)")
        for name, elapsed in results.items():
            self.assertGreaterEqual(elapsed, HANDSHAKE_DEADLINE - 0.2, name)
            self.assertLess(elapsed, HANDSHAKE_DEADLINE + 2.5, name)
        # A handshake that completes in time is unaffected, and so is the connection after it.
        with tls_connect(self.tcp_port, self.context, "a.test") as sock:
            time.sleep(HANDSHAKE_DEADLINE + 0.5)
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            sock.settimeout(5)
            self.assertTrue(sock.recv(100).startswith(b"HTTP/1.0 200"))

    # ---- close_notify only on a clean end ----

    def response_end(self, port: int, request: bytes) -> tuple[bytes, str]:
        context = client_context(self.pki)
        raw = socket.create_connection((HOST, port), timeout=5)
        sock = context.wrap_socket(raw, server_hostname="a.test", suppress_ragged_eofs=False)
        self.addCleanup(sock.close)
        sock.sendall(request)
        chunks = []
        try:
            sock.settimeout(5)
            while True:
                data = sock.recv(1 << 16)
                if not data:
                    return b"".join(chunks), "close_notify"
                chunks.append(data)
        except ssl.SSLEOFError:
            return b"".join(chunks), "unclean"
        except ConnectionResetError:
            return b"".join(chunks), "unclean"

    def test_a_backend_reset_reaches_the_tls_client_as_an_unclean_end(self):
        self.start()
        request = b"GET / HTTP/1.0\r\nHost: a.test\r\n\r\n"
        for name, port in (("http", self.http_port), ("tcp", self.tcp_port)):
            self.backend_.reset = True
            body, end = self.response_end(port, request)
            self.assertIn(b"200 OK", body, name)
            self.assertEqual(end, "unclean", f"{name}: a truncated response ended with {end}")
            self.backend_.reset = False
            body, end = self.response_end(port, request)
            self.assertTrue(body.endswith(TruncatingBackend.body * 2), name)
            self.assertEqual(end, "close_notify", f"{name}: a whole response ended {end}")

    # ---- the handshake rate ----

    def test_handshakes_beyond_the_rate_are_refused_before_they_cost_a_signature(self):
        self.start(handshakes_per_second=5)
        time.sleep(1.1)  # the bucket is full: five at once
        hello = client_hello(self.context)
        began = time.monotonic()
        socks = [socket.create_connection((HOST, self.http_port), timeout=5) for _ in range(20)]
        for sock in socks:
            self.addCleanup(sock.close)
            sock.sendall(hello)
        elapsed = time.monotonic() - began
        answered = 0
        for sock in socks:
            try:
                answered += bool(sock.recv(5))  # a ServerHello's record header
            except ConnectionResetError:
                pass
        # Five in the bucket, plus what refilled while the twenty were sent.
        allowed = 5 + int(5 * elapsed) + 1
        self.assertGreaterEqual(answered, 5)
        self.assertLessEqual(answered, allowed, "each handshake beyond the rate costs a signature")
        time.sleep(1.0)  # the bucket refills: a normal handshake is served again
        with tls_connect(self.tcp_port, self.context, "a.test") as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            self.assertTrue(sock.recv(100).startswith(b"HTTP/1.0 200"))


if __name__ == "__main__":
    unittest.main()
