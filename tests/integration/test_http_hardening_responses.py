# Bad responses from a backend: a 502 to the client and that upstream connection never reused,
# and bytes after a complete response never relayed.
import unittest

from harness import wait_until
from http_harness import FaultBackend, HttpBackend, HttpConn, HttpTestCase, NoResponse, build_request, get


class ResponseVectorTest(HttpTestCase):
    """Bad responses from the backend: 502, and that upstream connection is never reused."""

    def assertBadGateway(self, raw: bytes, what: str):
        fault = self.backend(FaultBackend, "raw", raw, "hold")
        port = self.start_http([fault.port])
        for attempt in range(2):
            with HttpConn(port) as conn:
                conn.send(build_request("GET", f"/r{attempt}"))
                self.assertProxyError(conn.read_response(), 502, what)
        self.assertEqual(fault.connections, 2, f"{what}: the bad connection was reused")
        self.assertTrue(wait_until(lambda: fault.peer_closed == 2, 2),
                        f"{what}: upstream connection left open")

    def test_response_with_content_length_and_chunked(self):
        self.assertBadGateway(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: "
                              b"chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "CL with TE")

    def test_response_with_bad_content_length(self):
        for value in (b"abc", b"-1", b"5, 6", b"0x10"):
            with self.subTest(value=value):
                self.assertBadGateway(b"HTTP/1.1 200 OK\r\nContent-Length: " + value +
                                      b"\r\n\r\nhello", f"Content-Length {value!r}")

    def test_response_with_two_different_content_lengths(self):
        self.assertBadGateway(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
                              b"\r\nhello!", "two Content-Length")

    def test_bytes_after_a_complete_response_are_not_relayed(self):
        """A backend that sends a second, unasked-for response: no client ever sees it. ringlb
        may keep the client connection (next request gets a genuine answer) or close it."""
        backend = self.backend(HttpBackend, "b")
        port = self.start_http([backend.port])
        conn = self.conn(port)
        self.assertEqual(conn.request("GET", "/extra-bytes").body, b"ok")
        conn.send(build_request("GET", "/next-on-same-connection"))
        try:
            response = conn.read_response()
            self.assertIsNone(response.header("X-Forged"), "the forged response was relayed")
            self.assertEqual(response.body, b"b GET /next-on-same-connection\n")
        except NoResponse as closed:
            self.assertNotIn(b"injected", closed.data, "the forged response was relayed")
        for i in range(3):
            response = get(port, f"/next{i}")
            self.assertIsNone(response.header("X-Forged"), "the forged response was relayed")
            self.assertEqual(response.body, f"b GET /next{i}\n".encode())



if __name__ == "__main__":
    unittest.main()
