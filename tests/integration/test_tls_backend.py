# TLS to backends ([pools.NAME.tls]): requests reach a Python TLS backend verified against the
# test CA with the configured SNI, pooled TLS connections are reused like plain ones, bodies
# arrive intact, a certificate that does not match is refused with 502, and a tcp listener can
# originate TLS too.
import hashlib
import os
import ssl
import unittest

from harness import EchoBackend, HOST, RinglbTestCase, connect, echo_roundtrip, free_port
from harness import runtime_user_lines
from http_harness import HttpBackend, HttpConn, HttpTestCase, http_config, pattern_sha256
from tls_harness import Pki, client_context, have_openssl, server_context, tls_connect
from test_tls_http import HttpsConn, tls_section


class TlsHttpBackend(HttpBackend):
    """HttpBackend behind TLS with `context`; counts completed handshakes."""

    def __init__(self, name: str, context: ssl.SSLContext, **options):
        self.tls_context = context
        self.handshakes = 0
        super().__init__(name, **options)

    def handle(self, conn):
        try:
            tls = self.tls_context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.handshakes += 1
        with tls:
            super().handle(tls)


class TlsEchoBackend(EchoBackend):
    def __init__(self, context: ssl.SSLContext):
        self.tls_context = context
        super().__init__()

    def handle(self, conn):
        try:
            tls = self.tls_context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with tls:
            super().handle(tls)


def pool_tls_section(pool: str, ca: str, sni: str, verify: bool = True) -> str:
    return (f'\n[pools.{pool}.tls]\nca = "{ca}"\nsni = "{sni}"\n'
            f'verify = {"true" if verify else "false"}\n')


def tls_tcp_config(port: int, backend_port: int, pki: Pki, front=None) -> str:
    """A tcp listener on `port` whose pool "app" speaks TLS to `backend_port` (name
    app.internal, verified against `pki`); with `front` (a leaf: cert, key) it also terminates
    TLS from clients."""
    config = "\n".join([
        "[runtime]", "workers = 1", *runtime_user_lines(), "[log]", 'access = "off"',
        "[listeners.l4]", f'bind = "{HOST}:{port}"', 'protocol = "tcp"', 'pool = "app"',
        "[pools.app]", f'backends = [ {{ address = "{HOST}:{backend_port}" }} ]',
    ]) + pool_tls_section("app", pki.ca, "app.internal")
    return config + tls_section("l4", [front]) if front else config


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class TlsBackendTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        cert, key = self.pki.leaf("app", ["app.internal"])
        self.backend_ = self.backend(TlsHttpBackend, "tls", server_context(cert, key))
        self.port = free_port()

    def start(self, sni: str = "app.internal", verify: bool = True, extra: str = ""):
        config = http_config(self.port, [self.backend_.port], max_body_bytes="64MiB")
        config += pool_tls_section("app", self.pki.ca, sni, verify) + extra
        return self.start_ringlb(config, self.port)

    def test_requests_reuse_one_verified_tls_connection(self):
        self.start()
        with HttpConn(self.port) as conn:
            for i in range(10):
                response = conn.request("GET", f"/r{i}")
                self.assertEqual(response.status, 200)
                self.assertEqual(response.body, f"tls GET /r{i}\n".encode())
        for i in range(5):  # new client connections take the pooled TLS connection
            with HttpConn(self.port) as conn:
                self.assertEqual(conn.request("GET", "/again").status, 200)
        self.assertEqual(self.backend_.handshakes, 1)
        self.assertEqual(self.backend_.connections, 1)

    def test_large_bodies_arrive_intact_both_ways(self):
        self.start()
        with HttpConn(self.port, timeout=30) as conn:
            upload = os.urandom(6 << 20)
            response = conn.request("POST", "/echo", [], upload, timeout=30)
            self.assertEqual(response.json()["body_sha256"], hashlib.sha256(upload).hexdigest())
            response = conn.request("GET", "/chunked/7000000", timeout=30)
            self.assertEqual(hashlib.sha256(response.body).hexdigest(), pattern_sha256(7000000))

    def test_a_certificate_for_another_name_is_refused_with_502(self):
        ringlb = self.start(sni="other.internal")
        with HttpConn(self.port) as conn:
            response = conn.request("GET", "/x")
        self.assertEqual(response.status, 502)
        line = ringlb.wait_for_log("TLS handshake with")
        self.assertIn("certificate verify failed", line)
        self.assertEqual(len(self.backend_.requests), 0)

    def test_verify_false_accepts_any_certificate(self):
        self.start(sni="other.internal", verify=False)
        with HttpConn(self.port) as conn:
            self.assertEqual(conn.request("GET", "/x").status, 200)

    def test_https_in_and_out(self):
        a = self.pki.leaf("a", ["a.test"])
        self.start(extra=tls_section("web", [a]))
        with HttpsConn(self.port, client_context(self.pki)) as conn:
            for i in range(3):
                response = conn.request("GET", "/echo")
                headers = {n.lower(): v for n, v in response.json()["headers"]}
                self.assertEqual(headers["x-forwarded-proto"], "https")
        self.assertEqual(self.backend_.handshakes, 1)


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class TlsTcpBackendTest(RinglbTestCase):
    def test_a_tcp_listener_originates_tls(self):
        pki = Pki(os.path.join(self.tmpdir, "pki"))
        cert, key = pki.leaf("app", ["app.internal"])
        echo = self.backend(TlsEchoBackend, server_context(cert, key))
        port = free_port()
        self.start_ringlb(tls_tcp_config(port, echo.port, pki), port)
        payload = os.urandom(256 << 10)
        self.assertEqual(echo_roundtrip(self.client(port, timeout=15), payload, timeout=15),
                         payload)

    def test_a_tcp_listener_terminates_and_originates_tls_at_once(self):
        pki = Pki(os.path.join(self.tmpdir, "pki"))
        cert, key = pki.leaf("app", ["app.internal"])
        front = pki.leaf("front", ["front.test"])
        echo = self.backend(TlsEchoBackend, server_context(cert, key))
        port = free_port()
        self.start_ringlb(tls_tcp_config(port, echo.port, pki, front), port)
        with tls_connect(port, client_context(pki), "front.test", timeout=15) as sock:
            for size in (1, 16385, 60000):
                payload = os.urandom(size)
                sock.sendall(payload)
                received = bytearray()
                while len(received) < size:
                    data = sock.recv(1 << 16)
                    self.assertTrue(data, "the tunnel closed early")
                    received += data
                self.assertEqual(bytes(received), payload)


if __name__ == "__main__":
    unittest.main()
