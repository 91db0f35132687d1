# The listener's limits against hostile requests: heads and fields over max_header_bytes, bodies
# over max_body_bytes (declared or chunked), and underscores_in_headers.
import unittest

from hardening_requests import HOST, SMUGGLED, TE_CHUNKED, get_line, post
from http_harness import HttpBackend, HttpConn, SharedProxyTestCase, chunked_encode, http_config


class LimitsTest(SharedProxyTestCase):
    """max_header_bytes = 256 KiB (so Beast's own 64 KiB field cap is reachable) and
    max_body_bytes = 1 KiB."""

    @classmethod
    def make_backends(cls):
        cls.backend = HttpBackend("h")
        return [cls.backend]

    @classmethod
    def config(cls, port):
        return http_config(port, [cls.backend.port], max_header_bytes="256KiB",
                           max_body_bytes="1KiB")

    def test_a_field_value_over_64k_is_431_not_a_crash(self):
        raw = get_line(b"GET /v HTTP/1.1", HOST + b"X-Huge: " + b"h" * (70 << 10) + b"\r\n")
        self.assertRefused(self.port, raw, 431, msg="a 70 KiB value")
        self.assertBackendGotNothing(self.backend)
        with HttpConn(self.port) as conn:
            self.assertEqual(conn.request("GET", "/alive").status, 200)

    def test_a_head_within_the_configured_limit_is_served(self):
        fields = [(f"X-F{i:03d}", "v" * 1000) for i in range(100)]  # ~100 KB
        with HttpConn(self.port) as conn:
            response = conn.request("GET", "/big-head", fields)
        self.assertEqual(response.status, 200, str(response))
        self.assertEqual(len(self.backend.requests[0].headers_named("X-F099")), 1)

    def test_content_length_over_max_body_bytes_is_413(self):
        self.assertRefused(self.port, post(b"Content-Length: 2048\r\n", b"b" * 2048), 413)
        self.assertBackendGotNothing(self.backend)

    def test_body_of_exactly_max_body_bytes_is_served(self):
        with HttpConn(self.port) as conn:
            echoed = conn.request("POST", "/echo", body=b"b" * 1024).json()
        self.assertEqual(echoed["body_len"], 1024)

    def test_cve_2013_2028_huge_chunk_size_is_413(self):
        """nginx read FFFFFFFFFFFFFFED as a negative size. It is a valid (enormous) chunk, so
        with a body limit it is a 413; without one it would just be a long body."""
        raw = post(TE_CHUNKED, b"FFFFFFFFFFFFFFED\r\nhello\r\n0\r\n\r\n" + SMUGGLED)
        self.assertRefused(self.port, raw, 413)
        self.assertNoCompleteRequest(self.backend)
        self.assertNotIn("/smuggled", self.backend.targets())

    def test_chunked_body_growing_over_max_body_bytes_is_413(self):
        body = chunked_encode([b"c" * 600, b"c" * 600])
        self.assertRefused(self.port, post(TE_CHUNKED, body), 413)
        self.assertNoCompleteRequest(self.backend)


class UnderscoresKeptTest(SharedProxyTestCase):
    """underscores_in_headers = true in the listener's limits: such fields are forwarded."""

    @classmethod
    def make_backends(cls):
        cls.backend = HttpBackend("h")
        return [cls.backend]

    @classmethod
    def config(cls, port):
        text = http_config(port, [cls.backend.port])
        limits = "[listeners.web.limits]\n"
        assert limits in text
        return text.replace(limits, limits + "underscores_in_headers = true\n")

    def test_fields_with_underscores_are_forwarded(self):
        with HttpConn(self.port) as conn:
            response = conn.request("GET", "/echo", [("X_Custom_Field", "kept")])
        self.assertEqual(response.status, 200, str(response))
        self.assertEqual(self.backend.requests[-1].headers_named("X_Custom_Field"), ["kept"])


if __name__ == "__main__":
    unittest.main()
