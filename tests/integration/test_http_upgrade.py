# Protocol switches through the HTTP listener: a WebSocket upgrade becomes a byte tunnel after the
# backend's 101 (and only then), h2c and other upgrades are stripped and served as plain HTTP, and
# Expect: 100-continue relays the backend's 100 before the body flows.
import os
import threading
import time
import unittest

from harness import wait_until
from http_harness import HttpBackend, HttpConn, HttpTestCase, build_request

WS_HEADERS = [("Connection", "Upgrade"), ("Upgrade", "websocket"),
              ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]


def read_exactly(conn: HttpConn, n: int, timeout: float = 5.0) -> bytes:
    """`n` raw bytes from the connection (tunnel data after a 101)."""
    deadline = time.monotonic() + timeout
    while len(conn.buf) < n:
        if not conn._fill(deadline):
            raise EOFError(f"EOF after {len(conn.buf)} of {n} tunnel bytes")
    data = bytes(conn.buf[:n])
    del conn.buf[:n]
    return data


class WebSocketTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.backend = self.backend(HttpBackend, "ws")
        self.port = self.start_http([self.backend.port])

    def upgrade(self) -> HttpConn:
        conn = self.conn(self.port, timeout=10)
        conn.send(build_request("GET", "/ws", WS_HEADERS, host="ws.test"))
        response = conn.read_response()
        self.assertEqual(response.status, 101, str(response))
        self.assertIn("websocket", response.tokens("Upgrade"), "101 lost its Upgrade field")
        self.assertIn("upgrade", response.tokens("Connection"), "101 lost Connection: Upgrade")
        return conn

    def test_upgrade_request_reaches_the_backend_with_its_upgrade_fields(self):
        self.upgrade()
        [request] = self.backend.requests
        self.assertEqual(request.tokens("Upgrade"), ["websocket"])
        self.assertIn("upgrade", request.tokens("Connection"))
        self.assertEqual(request.header("Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==")
        self.assertEqual(request.header("X-Forwarded-For"), "127.0.0.1")

    def test_bytes_tunnel_both_ways_after_101(self):
        conn = self.upgrade()
        self.assertEqual(read_exactly(conn, 19), b"hello from backend\n",
                         "bytes sent with the 101 did not arrive")
        for size in (1, 5, 4096):
            payload = os.urandom(size)
            conn.send(payload)
            self.assertEqual(read_exactly(conn, size), payload)
        # Raw bytes that look like HTTP are not parsed any more.
        fake = b"GET /not-http HTTP/1.1\r\nHost: x\r\n\r\n"
        conn.send(fake)
        self.assertEqual(read_exactly(conn, len(fake)), fake)
        self.assertEqual(len(self.backend.requests), 1)

    def test_4mib_through_the_tunnel_in_both_directions_at_once(self):
        conn = self.upgrade()
        read_exactly(conn, 19)
        payload = os.urandom(4 << 20)
        errors = []

        def send():
            try:
                for i in range(0, len(payload), 65536):
                    conn.sock.sendall(payload[i:i + 65536])
            except OSError as e:
                errors.append(e)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        received = read_exactly(conn, len(payload), timeout=20)
        sender.join(5)
        self.assertEqual(errors, [])
        self.assertTrue(received == payload, "tunnelled bytes differ")

    def test_tunnel_closes_when_either_side_closes(self):
        conn = self.upgrade()
        read_exactly(conn, 19)
        conn.close()
        self.assertTrue(wait_until(lambda: self.backend.active == 0, 3),
                        "backend side of the tunnel still open after the client left")
        conn2 = self.upgrade()
        read_exactly(conn2, 19)
        self.backend.close()  # shuts every backend connection down
        self.assertTrue(conn2.closed_within(3), "client side open after the backend left")

    def test_an_open_tunnel_and_plain_requests_use_separate_upstream_connections(self):
        tunnel = self.upgrade()
        read_exactly(tunnel, 19)
        with HttpConn(self.port) as plain:
            for i in range(3):
                self.assertEqual(plain.request("GET", f"/plain{i}").body,
                                 f"ws GET /plain{i}\n".encode())
        self.assertEqual(self.backend.connections, 2, "plain requests went over the tunnel's "
                                                      "upstream connection")
        tunnel.send(b"still tunnelling")
        self.assertEqual(read_exactly(tunnel, 16), b"still tunnelling")


class NoTunnelTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.backend = self.backend(HttpBackend, "b")
        self.port = self.start_http([self.backend.port])

    def test_h2c_upgrade_is_stripped_and_served_as_http1(self):
        conn = self.conn(self.port)
        response = conn.request("GET", "/echo", [("Connection", "Upgrade, HTTP2-Settings"),
                                                 ("Upgrade", "h2c"),
                                                 ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")])
        self.assertEqual(response.status, 200)
        request = self.backend.requests[-1]
        self.assertEqual(request.headers_named("Upgrade"), [], request.raw_head)
        self.assertEqual(request.headers_named("HTTP2-Settings"), [], request.raw_head)
        self.assertNotIn("upgrade", request.tokens("Connection"))
        self.assertNotIn("http2-settings", request.tokens("Connection"))
        self.assertEqual(conn.request("GET", "/second").body, b"b GET /second\n",
                         "the connection did not stay HTTP/1.1")

    def test_unknown_upgrade_token_is_stripped(self):
        response = self.conn(self.port).request("GET", "/echo", [("Connection", "upgrade"),
                                                                 ("Upgrade", "foo/1.0")])
        self.assertEqual(response.status, 200)
        self.assertEqual(self.backend.requests[-1].headers_named("Upgrade"), [])

    def test_a_200_answer_to_an_upgrade_does_not_open_a_tunnel(self):
        """CVE-2024-23326 (Envoy): only a 101 switches protocols. After a 200, what the client
        sends next is parsed as HTTP (re-serialized with ringlb's fields), not tunnelled raw."""
        conn = self.conn(self.port)
        response = conn.request("GET", "/no-upgrade-here", WS_HEADERS)
        self.assertEqual(response.status, 200)
        conn.send(b"GET /second HTTP/1.1\r\nHost: test.local\r\n\r\n")
        self.assertEqual(conn.read_response().body, b"b GET /second\n")
        second = self.backend.requests[-1]
        self.assertEqual(second.target, "/second")
        self.assertEqual(second.header("Via"), "1.1 ringlb", "second request was tunnelled raw")

    def test_unsolicited_101_is_a_bad_gateway(self):
        conn = self.conn(self.port)
        conn.send(build_request("GET", "/unsolicited-101"))
        response = conn.read_response()
        self.assertProxyError(response, 502, "a 101 to a request that asked for no upgrade")
        data, _ = conn.read_until_closed(2)
        self.assertNotIn(b"tunnel-bytes-from-backend", data)


class ExpectContinueTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.backend = self.backend(HttpBackend, "b")
        self.port = self.start_http([self.backend.port])

    def test_backend_100_continue_is_relayed_then_the_body_flows(self):
        conn = self.conn(self.port)
        body = os.urandom(100_000)
        conn.send(b"POST /echo HTTP/1.1\r\nHost: test.local\r\nExpect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        interim = conn.read_response(timeout=3)
        self.assertEqual(interim.status, 100, f"expected 100 Continue, got {interim}")
        conn.send(body)
        final = conn.read_response()
        self.assertEqual(final.status, 200)
        self.assertEqual(final.json()["body_sha256"], self.backend.requests[-1].body_sha256)
        self.assertEqual(final.json()["body_len"], len(body))
        self.assertEqual(self.backend.requests[-1].tokens("Expect"), ["100-continue"])
        self.assertEqual(conn.request("GET", "/next").status, 200)

    def test_final_answer_without_100_reaches_a_client_that_holds_its_body(self):
        conn = self.conn(self.port)
        conn.send(b"POST /expect-reject HTTP/1.1\r\nHost: test.local\r\n"
                  b"Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
        response = conn.read_response(timeout=3)
        self.assertEqual(response.status, 417)

    def test_chunked_body_after_100_continue(self):
        conn = self.conn(self.port)
        conn.send(b"POST /echo HTTP/1.1\r\nHost: test.local\r\nExpect: 100-continue\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        self.assertEqual(conn.read_response(timeout=3).status, 100)
        conn.send(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        self.assertEqual(conn.read_response().json()["body"], "hello world")


if __name__ == "__main__":
    unittest.main()
