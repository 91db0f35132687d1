# HTTPS on an http listener: requests arrive decrypted at plain backends with
# X-Forwarded-Proto: https, keep-alive and pipelining work over one TLS connection, large bodies
# arrive intact both ways, a close ends with close_notify, and plain HTTP on the TLS port gets
# a clean close while the process keeps serving.
import hashlib
import json
import os
import signal
import socket
import subprocess
import time
import unittest

from harness import HOST, DEFAULT_TIMEOUT, free_port, wait_closed
from http_harness import (HttpBackend, HttpConn, HttpTestCase, build_request, http_config,
                          pattern_sha256)
from tls_harness import Pki, client_context, have_openssl, tls_connect


class HttpsConn(HttpConn):
    """HttpConn over TLS to 127.0.0.1:port with SNI `server_name`."""

    def __init__(self, port: int, context, server_name: str = "a.test",
                 timeout: float = DEFAULT_TIMEOUT):
        self.port = port
        self.timeout = timeout
        self.sock = tls_connect(port, context, server_name, timeout)
        self.buf = bytearray()
        self.eof = False


def tls_section(listener: str, certificates) -> str:
    listed = ", ".join(f'{{ cert = "{c}", key = "{k}" }}' for c, k in certificates)
    return f"\n[listeners.{listener}.tls]\ncertificates = [ {listed} ]\n"


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class HttpsListenerTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.a = self.pki.leaf("a", ["a.test"])
        self.context = client_context(self.pki, alpn=["http/1.1"])
        self.backend_ = self.backend(HttpBackend, "plain")
        self.port = free_port()
        config = http_config(self.port, [self.backend_.port], max_body_bytes="64MiB")
        self.ringlb_ = self.start_ringlb(config + tls_section("web", [self.a]), self.port)

    def conn(self, timeout: float = DEFAULT_TIMEOUT) -> HttpsConn:
        conn = HttpsConn(self.port, self.context, timeout=timeout)
        self.addCleanup(conn.close)
        return conn

    def test_keep_alive_requests_arrive_decrypted_with_x_forwarded_proto_https(self):
        conn = self.conn()
        self.assertEqual(conn.sock.selected_alpn_protocol(), "http/1.1")
        for i in range(20):
            response = conn.request("GET", f"/echo/{i}")
            self.assertEqual(response.status, 200)
            echoed = response.json()
            self.assertEqual(echoed["target"], f"/echo/{i}")
            headers = {name.lower(): value for name, value in echoed["headers"]}
            self.assertEqual(headers["x-forwarded-proto"], "https")
        self.assertEqual(self.backend_.connections, 1)

    def test_pipelined_requests_are_answered_in_order(self):
        conn = self.conn()
        conn.send(b"".join(build_request("GET", f"/p{i}")
                           for i in range(10)))
        for i in range(10):
            response = conn.read_response()
            self.assertEqual(response.body, f"plain GET /p{i}\n".encode())

    def test_large_bodies_arrive_intact_both_ways(self):
        conn = self.conn(timeout=30)
        upload = os.urandom(8 << 20)
        response = conn.request("POST", "/echo", [], upload, timeout=30)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json()["body_sha256"], hashlib.sha256(upload).hexdigest())
        for target, size in (("/stream/9000000", 9000000), ("/chunked/5000000", 5000000)):
            response = conn.request("GET", target, timeout=30)
            self.assertEqual(response.status, 200, target)
            self.assertEqual(hashlib.sha256(response.body).hexdigest(), pattern_sha256(size))

    def test_a_websocket_tunnel_carries_bytes_both_ways_over_tls(self):
        conn = self.conn(timeout=10)
        conn.send(build_request("GET", "/ws", [
            ("Connection", "Upgrade"), ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]))
        self.assertEqual(conn.read_response().status, 101)
        greeting = b"hello from backend\n"
        payload = os.urandom(300000)
        received = bytes(conn.buf)
        conn.buf.clear()
        conn.send(payload)
        deadline = time.monotonic() + 10
        while len(received) < len(greeting) + len(payload):
            data = conn._recv(deadline)
            self.assertTrue(data, "the tunnel closed early")
            received += data
        self.assertEqual(received, greeting + payload)

    def test_sessions_resume_one_after_another_with_fresh_tickets(self):
        # Like a client reconnecting in a loop: each connection resumes the session the previous
        # one ended with, which needs a new ticket on every resumed connection (TLS 1.3 tickets
        # are used once).
        results = []
        session_in = []
        for i in range(4):
            session_out = os.path.join(self.tmpdir, f"session{i}")
            out = subprocess.run(
                ["openssl", "s_client", "-connect", f"{HOST}:{self.port}", "-servername",
                 "a.test", "-ign_eof", *session_in, "-sess_out", session_out],
                input=b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
                capture_output=True, timeout=10).stdout.decode(errors="replace")
            results.append("Reused" if "\nReused, " in out else "New")
            session_in = ["-sess_in", session_out]
        self.assertEqual(results, ["New", "Reused", "Reused", "Reused"])
        self.ringlb_.send_signal(signal.SIGTERM)
        self.assertExits(0, 10)
        self.assertIn("tls: 4 client handshakes (3 resumed)", self.ringlb_.log())

    def test_connection_close_ends_with_close_notify(self):
        conn = self.conn()
        response = conn.request("GET", "/x", [("Connection", "close")])
        self.assertEqual(response.status, 200)
        # recv() returns b"" only after a close_notify; a bare FIN raises SSLEOFError.
        conn.sock.settimeout(5)
        self.assertEqual(conn.sock.recv(100), b"")

    def test_plain_http_and_garbage_get_a_clean_close_and_others_are_served(self):
        # Garbage starts with bytes no TLS record starts with: random bytes that happen to look
        # like a record header make OpenSSL wait for the rest, like any slow client would.
        for junk in (b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", b"\0\0\0" + os.urandom(1997),
                     bytes.fromhex("16030100c8010000c40303")):
            with socket.create_connection((HOST, self.port), timeout=5) as sock:
                sock.sendall(junk)
                if len(junk) < 20:
                    sock.shutdown(socket.SHUT_WR)  # a truncated ClientHello
                self.assertTrue(wait_closed(sock, 5), junk[:16])
        response = self.conn().request("GET", "/after")
        self.assertEqual(response.status, 200)
        self.assertEqual(len(self.backend_.requests), 1)
        self.ringlb_.send_signal(signal.SIGTERM)
        self.assertExits(0, 10)
        self.assertIn("tls: 1 client handshakes (0 resumed), 2 failed (1 of them plain HTTP)",
                      self.ringlb_.log())


if __name__ == "__main__":
    unittest.main()
