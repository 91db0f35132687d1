# Every row of docs/http-hardening.md as a request vector, plus CVE regressions (HAProxy, nginx,
# Envoy, Traefik) mapped to request shapes: ambiguous or malformed input gets ringlb's own
# 4xx/5xx and a close while the backend receives nothing; valid-but-odd input is forwarded with
# one meaning. Limits, host and path normalization, and responses have files of their own
# (test_http_hardening_limits.py, test_http_hardening_routing.py, test_http_hardening_responses.py).
import time
import unittest
from dataclasses import dataclass

from harness import free_port
from hardening_requests import HOST, SMUGGLED, TE_CHUNKED, get_line, post
from http_harness import (REQUEST_ID, HttpBackend, HttpConn, SharedProxyTestCase, chunked_encode,
                          http_config)


@dataclass
class Vector:
    name: str
    raw: bytes
    status: tuple
    why: str
    in_body: bool = False  # the error is in the body, after a valid head



CHUNKED_HELLO = b"5\r\nhello\r\n0\r\n\r\n"
BAD, NOT_IMPL = (400,), (400, 501)

VECTORS = [
    # Content-Length and Transfer-Encoding (RFC 9112 §6.1, §6.3).
    Vector("cl_with_te", post(b"Content-Length: 4\r\n" + TE_CHUNKED, b"0\r\n\r\n" + SMUGGLED),
           BAD, "CL and TE together"),
    Vector("te_with_cl", post(TE_CHUNKED + b"Content-Length: 4\r\n", b"0\r\n\r\n" + SMUGGLED),
           BAD, "TE and CL together, TE first"),
    Vector("te_gzip_with_cl", post(b"Transfer-Encoding: gzip\r\nContent-Length: 5\r\n", b"hello"),
           NOT_IMPL, "a non-chunked TE with CL is framed by neither"),
    Vector("te_xchunked", post(b"Transfer-Encoding: xchunked\r\n", CHUNKED_HELLO + SMUGGLED),
           NOT_IMPL, "unknown coding"),
    Vector("te_chunked_gzip", post(b"Transfer-Encoding: chunked, gzip\r\n", CHUNKED_HELLO),
           NOT_IMPL, "chunked is not the final coding"),
    Vector("te_gzip_chunked", post(b"Transfer-Encoding: gzip, chunked\r\n", CHUNKED_HELLO),
           NOT_IMPL, "only exactly 'chunked' is accepted"),
    Vector("te_identity", post(b"Transfer-Encoding: identity\r\n", CHUNKED_HELLO + SMUGGLED),
           NOT_IMPL, "identity is not a transfer coding any more"),
    Vector("te_chunked_chunked", post(b"Transfer-Encoding: chunked, chunked\r\n", CHUNKED_HELLO),
           BAD, "chunked applied twice"),
    Vector("te_chunked_in_two_fields", post(TE_CHUNKED + TE_CHUNKED, CHUNKED_HELLO),
           BAD, "two TE fields add up to 'chunked, chunked'"),
    Vector("te_in_http10",
           b"POST /v HTTP/1.0\r\n" + HOST + TE_CHUNKED + b"\r\n" + CHUNKED_HELLO,
           BAD, "TE in an HTTP/1.0 request"),
    Vector("te_space_before_colon", post(b"Transfer-Encoding : chunked\r\n", CHUNKED_HELLO),
           BAD, "whitespace between field name and colon (RFC 9112 §5.1)"),
    Vector("te_vertical_tab", post(b"Transfer-Encoding:\x0bchunked\r\n", CHUNKED_HELLO),
           NOT_IMPL, "VT is not whitespace in HTTP"),
    Vector("te_obs_folded", post(b"Transfer-Encoding:\r\n chunked\r\n", CHUNKED_HELLO),
           BAD, "TE value on a continuation line"),
    Vector("te_empty", post(b"Transfer-Encoding: \r\n", CHUNKED_HELLO), NOT_IMPL,
           "empty TE"),
    Vector("te_quoted", post(b'Transfer-Encoding: "chunked"\r\n', CHUNKED_HELLO), NOT_IMPL,
           "quoted coding"),
    # Content-Length values (RFC 9110 §8.6, RFC 9112 §6.3 rule 5).
    Vector("cl_differing_list", post(b"Content-Length: 5, 6\r\n", b"hello!"), BAD,
           "two different lengths in one field"),
    Vector("cl_differing_fields", post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"),
           BAD, "two different lengths in two fields"),
    Vector("cl_empty_cve_2023_40225", post(b"Content-Length: \r\n", b"hello"), BAD,
           "CVE-2023-40225 (HAProxy): an empty Content-Length was forwarded"),
    Vector("cl_plus_sign", post(b"Content-Length: +5\r\n", b"hello"), BAD, "'+5'"),
    Vector("cl_hex", post(b"Content-Length: 0x5\r\n", b"hello"), BAD, "'0x5'"),
    Vector("cl_negative", post(b"Content-Length: -5\r\n", b"hello"), BAD, "'-5'"),
    Vector("cl_trailing_junk", post(b"Content-Length: 5x\r\n", b"hello"), BAD, "'5x'"),
    Vector("cl_inner_space", post(b"Content-Length: 5 5\r\n", b"hello"), BAD, "'5 5'"),
    Vector("cl_space_before_colon", post(b"Content-Length : 5\r\n", b"hello"), BAD,
           "whitespace between field name and colon"),
    Vector("cl_overflows_64_bits", post(b"Content-Length: 18446744073709551621\r\n", b"hello"),
           (400, 413), "2^64 + 5 wraps to 5 in a parser that overflows"),
    Vector("cl_40_digits", post(b"Content-Length: " + b"9" * 40 + b"\r\n", b"hello"),
           (400, 413), "a length no integer holds"),
    Vector("cl_2_64_minus_1", post(b"Content-Length: 18446744073709551615\r\n", b"hello"), BAD,
           "2^64-1 fits in 64 bits but not in a backend's signed length (nginx's limit: 2^63-1)"),
    Vector("cl_2_63", post(b"Content-Length: 9223372036854775808\r\n", b"hello"), BAD,
           "2^63 is one past the largest length accepted"),
    # Field syntax (RFC 9112 §5, §3.2).
    Vector("obs_fold", post(b"X-Folded: a\r\n  b\r\nContent-Length: 0\r\n"), BAD,
           "obs-fold continuation line"),
    Vector("whitespace_before_first_field",
           b"GET /v HTTP/1.1\r\n Host: h.test\r\n\r\n", BAD,
           "whitespace line between start line and first field (RFC 9112 §2.2)"),
    Vector("missing_host_http11", b"GET /v HTTP/1.1\r\nX-A: b\r\n\r\n", BAD, "no Host in 1.1"),
    Vector("two_hosts", get_line(b"GET /v HTTP/1.1", HOST + b"Host: other.test\r\n"), BAD,
           "two Host fields"),
    Vector("host_list", get_line(b"GET /v HTTP/1.1", b"Host: a.test, b.test\r\n"), BAD,
           "a Host field holding two hosts"),
    Vector("empty_field_name_cve_2023_25725",
           get_line(b"GET /v HTTP/1.1", HOST + b": empty-name\r\n"), BAD,
           "CVE-2023-25725 (HAProxy): an empty field name truncated the header list"),
    Vector("space_in_field_name", get_line(b"GET /v HTTP/1.1", HOST + b"X Bad: v\r\n"), BAD,
           "space inside a field name"),
    Vector("field_without_colon", get_line(b"GET /v HTTP/1.1", HOST + b"NoColonHere\r\n"),
           BAD, "a field line without a colon"),
    Vector("nul_in_field_value", get_line(b"GET /v HTTP/1.1", HOST + b"X-A: a\x00b\r\n"),
           BAD, "NUL in a value"),
    Vector("bare_cr_in_field_value", get_line(b"GET /v HTTP/1.1", HOST + b"X-A: a\rb\r\n"),
           BAD, "a CR not followed by LF in a value"),
    Vector("ctl_in_field_name", get_line(b"GET /v HTTP/1.1", HOST + b"X\x01A: v\r\n"), BAD,
           "control byte in a field name"),
    # Request line (RFC 9112 §3, RFC 3986).
    Vector("space_in_target", get_line(b"GET /a b HTTP/1.1"), BAD, "space inside the target"),
    Vector("double_space_request_line", get_line(b"GET  /v HTTP/1.1"), BAD,
           "two spaces after the method"),
    Vector("asterisk_with_get", get_line(b"GET * HTTP/1.1"), BAD, "'*' only with OPTIONS"),
    Vector("authority_form_with_get", get_line(b"GET h.test:80 HTTP/1.1"), BAD,
           "authority-form only with CONNECT"),
    Vector("bad_method_token", get_line(b"GE(T /v HTTP/1.1"), BAD, "'(' is not a tchar"),
    Vector("lowercase_protocol", get_line(b"GET /v http/1.1"), (400, 505),
           "the protocol name is case-sensitive"),
    Vector("http_2_0", get_line(b"GET /v HTTP/2.0"), (505,), "HTTP/2.0 on an HTTP/1 listener"),
    Vector("http_3_0", get_line(b"GET /v HTTP/3.0"), (505,), "HTTP/3.0"),
    Vector("http_0_9", b"GET /v\r\n\r\n", (400, 505), "an HTTP/0.9 request line"),
    Vector("two_digit_minor_version", get_line(b"GET /v HTTP/1.10"), (400, 505),
           "HTTP/1.10"),
    # Sizes (RFC 6585), default max_header_bytes = 32 KiB.
    Vector("request_line_over_limit", get_line(b"GET /" + b"a" * 40000 + b" HTTP/1.1"), (414,),
           "a 40 KB request line"),
    Vector("one_field_over_limit", get_line(b"GET /v HTTP/1.1", HOST + b"X-Big: " +
                                            b"b" * 40000 + b"\r\n"), (431,),
           "a 40 KB field"),
    Vector("many_fields_over_limit", get_line(b"GET /v HTTP/1.1", HOST + b"".join(
        b"X-F%04d: %s\r\n" % (i, b"v" * 30) for i in range(1000))), (431,),
           "1000 fields, 40 KB in all"),
    # Errors found in a chunked body (RFC 9112 §7.1).
    Vector("chunk_extension_over_4k", post(TE_CHUNKED, b"5;" + b"e" * 8192 +
                                           b"\r\nhello\r\n0\r\n\r\n"),
           BAD, "an 8 KB chunk extension (cap: 4 KiB)", in_body=True),
    Vector("chunk_size_overflow", post(TE_CHUNKED, b"10000000000000005\r\nhello\r\n0\r\n\r\n"),
           (400, 413), "17 hex digits wrap to 5 in 64 bits", in_body=True),
    Vector("chunk_size_not_hex", post(TE_CHUNKED, b"zz\r\nhello\r\n0\r\n\r\n"), BAD,
           "chunk size 'zz'", in_body=True),
    Vector("chunk_size_negative", post(TE_CHUNKED, b"-5\r\nhello\r\n0\r\n\r\n"), BAD,
           "chunk size '-5'", in_body=True),
    Vector("chunk_data_without_crlf", post(TE_CHUNKED, b"5\r\nhelloXX0\r\n\r\n" + SMUGGLED), BAD,
           "chunk data longer than its size", in_body=True),
    Vector("trailers_over_limit", post(TE_CHUNKED, b"5\r\nhello\r\n0\r\n" + b"".join(
        b"X-T%05d: %s\r\n" % (i, b"t" * 90) for i in range(1000)) + b"\r\n"), (400, 431),
           "100 KB of trailers", in_body=True),
]

TARGET_BYTES = {"hash_cve_2023_45539": b"#", "lt": b"<", "gt": b">", "quote": b'"',
                "lbrace": b"{", "rbrace": b"}", "pipe": b"|", "byte_80": b"\x80",
                "byte_ff": b"\xff", "del": b"\x7f", "backslash": b"\\", "caret": b"^",
                "backtick": b"`"}
for label, char in TARGET_BYTES.items():
    VECTORS.append(Vector(f"target_with_{label}", get_line(b"GET /a" + char + b"b HTTP/1.1"), BAD,
                          f"{char!r} is not allowed in a request target"
                          + (" (CVE-2023-45539, HAProxy)" if char == b"#" else "")))


class RequestVectorTest(SharedProxyTestCase):
    """One ringlb in front of a recording backend; each vector on its own client connection."""

    @classmethod
    def make_backends(cls):
        cls.backend = HttpBackend("h")
        return [cls.backend]

    @classmethod
    def config(cls, port):
        return http_config(port, {"app": [cls.backend.port], "dead": [free_port()]},
                           routes=[{"path_prefix": "/dead/", "pool": "dead"}])

    def assertNothingSmuggled(self):
        self.assertNotIn("/smuggled", self.backend.targets(), "a smuggled request got through")

    # Valid shapes that must be forwarded with exactly one meaning.

    def send(self, raw: bytes):
        conn = HttpConn(self.port)
        self.addCleanup(conn.close)
        conn.send(raw)
        return conn

    def test_duplicate_equal_content_lengths_are_sent_as_one(self):
        for fields in (b"Content-Length: 5, 5\r\n", b"Content-Length: 5\r\nContent-Length: 5\r\n"):
            with self.subTest(fields=fields):
                self.backend.reset()
                response = self.send(post(fields, b"hello", b"/echo")).read_response()
                self.assertEqual(response.status, 200, str(response))
                [request] = self.backend.requests
                self.assertEqual(request.headers_named("Content-Length"), ["5"])
                self.assertEqual(request.body, b"hello")

    def test_chunk_extensions_are_not_forwarded(self):
        raw = post(TE_CHUNKED, b"5;name=value;x=\"q\"\r\nhello\r\n6;ext\r\n world\r\n0;last\r\n\r\n",
                   b"/echo")
        self.assertEqual(self.send(raw).read_response().json()["body"], "hello world")
        [request] = self.backend.requests
        self.assertEqual(request.chunk_extensions, [])
        self.assertNotIn(b"name=value", bytes(self.backend.conns[-1].raw))

    def test_trailers_are_never_merged_into_the_head(self):
        raw = post(TE_CHUNKED, chunked_encode([b"hello"], trailers=b"X-Trailer-Evil: 1\r\n"),
                   b"/echo")
        response = self.send(raw).read_response()
        self.assertEqual(response.status, 200, str(response))
        self.assertEqual(response.json()["body"], "hello")
        [request] = self.backend.requests
        self.assertEqual(request.headers_named("X-Trailer-Evil"), [], "trailer merged into head")

    def test_framing_fields_in_trailers_change_nothing(self):
        """Content-Length / Transfer-Encoding as trailers: refused, or dropped / kept apart;
        never applied to the message."""
        trailers = b"Content-Length: 99\r\nTransfer-Encoding: gzip\r\n"
        raw = post(TE_CHUNKED, chunked_encode([b"hello"], trailers=trailers), b"/echo")
        response = self.send(raw).read_response()
        if response.status != 200:
            self.assertProxyError(response, 400, "framing fields in trailers")
            self.assertNoCompleteRequest(self.backend)
            return
        [request] = self.backend.requests
        self.assertEqual(request.body, b"hello")
        self.assertEqual(request.headers_named("Content-Length"),
                         ["5"] if request.framing == "length" else [])
        self.assertNotIn("gzip", request.tokens("Transfer-Encoding"))

    def test_http10_without_host_is_served(self):
        response = self.send(b"GET /v HTTP/1.0\r\n\r\n").read_response()
        self.assertEqual(response.status, 200, str(response))

    def test_options_asterisk_is_forwarded(self):
        response = self.send(get_line(b"OPTIONS * HTTP/1.1")).read_response()
        self.assertEqual(response.status, 200, str(response))
        self.assertEqual([(r.method, r.target) for r in self.backend.requests],
                         [("OPTIONS", "*")])

    def test_cve_2021_40346_long_field_name_is_only_a_field(self):
        """HAProxy's 8-bit name length overflowed into the value, turning this field into
        `Content-Length: 0` and the body into a second request. ringlb may refuse the long
        name, or forward one request whose body is the would-be smuggled one."""
        fields = (b"Content-Length0" + b"a" * 270 + b":\r\n"
                  + b"Content-Length: %d\r\n" % len(SMUGGLED))
        response = self.send(post(fields, SMUGGLED, b"/echo")).read_response()
        if response.status != 200:  # refusing long names is allowed; desync is not
            self.assertProxyError(response, (400, 431), "a 285-byte field name")
            self.assertBackendGotNothing(self.backend)
            return
        self.assertEqual(response.json()["body"].encode(), SMUGGLED)
        time.sleep(self.SETTLE)
        self.assertEqual(self.backend.targets(), ["/echo"])

    def test_cve_2019_18802_trailing_whitespace_in_values(self):
        """Envoy did not trim trailing whitespace, so 'chunked ' and a host with a trailing
        space meant something else to it than to the backend."""
        raw = (b"POST /echo HTTP/1.1\r\nHost: h.test \t\r\nTransfer-Encoding: chunked \t\r\n\r\n"
               + CHUNKED_HELLO + SMUGGLED)
        conn = self.send(raw)
        self.assertEqual(conn.read_response().json()["body"], "hello")
        second = conn.read_response()
        self.assertEqual(second.body, b"h GET /smuggled\n", "the pipelined request was lost")
        self.assertEqual(self.backend.requests[0].header("Host"), "h.test")
        self.assertEqual(self.backend.targets(), ["/echo", "/smuggled"])

    def test_cve_2019_20372_body_of_a_get_is_not_a_request(self):
        """nginx read a GET's body as the next request on its error-page path; the body of a
        request with Content-Length is body, whatever it looks like."""
        raw = (b"GET /echo HTTP/1.1\r\n" + HOST + b"Content-Length: %d\r\n\r\n" % len(SMUGGLED)
               + SMUGGLED)
        conn = self.send(raw)
        self.assertEqual(conn.read_response().json()["body"].encode(), SMUGGLED)
        time.sleep(self.SETTLE)
        self.assertEqual(self.backend.targets(), ["/echo"])
        self.assertEqual(conn.buf, b"", "a second response came back")

    def test_cve_2019_20372_proxy_error_does_not_parse_the_body_as_a_request(self):
        """nginx answered an error page but then read the request body as the next request.
        Here ringlb answers 503 itself (no backend in pool 'dead') and must close."""
        raw = (b"GET /dead/x HTTP/1.1\r\n" + HOST + b"Content-Length: %d\r\n\r\n" % len(SMUGGLED)
               + SMUGGLED)
        self.assertRefused(self.port, raw, 503)
        self.assertBackendGotNothing(self.backend)

    def test_cve_2024_45410_connection_cannot_remove_forwarding_fields(self):
        """Traefik let `Connection` name X-Forwarded-* and removed them after setting them."""
        fields = (b"Connection: X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, Via, "
                  b"X-Request-Id\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.test\r\n"
                  b"X-Forwarded-Proto: https\r\nVia: 1.0 evil\r\nX-Request-Id: forged\r\n")
        response = self.send(get_line(b"GET /echo HTTP/1.1", HOST + fields)).read_response()
        self.assertEqual(response.status, 200, str(response))
        [request] = self.backend.requests
        self.assertEqual(request.headers_named("X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(request.headers_named("X-Forwarded-Host"), ["h.test"])
        self.assertEqual(request.headers_named("X-Forwarded-Proto"), ["http"])
        self.assertEqual(request.headers_named("Via"), ["1.1 ringlb"])
        [request_id] = request.headers_named("X-Request-Id")
        self.assertRegex(request_id, REQUEST_ID)

    def test_fields_with_underscores_never_reach_the_backend(self):
        """CGI maps X_Forwarded_For and X-Forwarded-For to the same HTTP_X_FORWARDED_FOR, so a
        client's underscore copy could pass for the proxy's. Dropped (nginx's default)."""
        fields = (b"X_Forwarded_For: 6.6.6.6\r\nX_Real_IP: 6.6.6.6\r\nx_forwarded_host: evil\r\n"
                  b"X-Kept: yes\r\n")
        response = self.send(get_line(b"GET /echo HTTP/1.1", HOST + fields)).read_response()
        self.assertEqual(response.status, 200, str(response))
        [request] = self.backend.requests
        names = [name for name, _ in request.headers]
        self.assertEqual([name for name in names if "_" in name], [], request.raw_head)
        self.assertNotIn(b"6.6.6.6", request.raw_head)
        self.assertEqual(request.headers_named("X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(request.headers_named("X-Kept"), ["yes"])

    def test_backslash_cannot_get_around_a_path_prefix_route(self):
        """/dead/ is routed to its own pool; '/dead\\x' would miss that route and reach the default
        pool, whose backend may read it as /dead/x."""
        self.assertRefused(self.port, get_line(b"GET /dead\\x HTTP/1.1"), 400)
        self.assertBackendGotNothing(self.backend)

    def test_only_the_logged_request_id_reaches_the_backend(self):
        """Two client ids: one goes on, the first (the one the access log shows); an id too long
        to log whole is replaced by a generated one, so log and backend always agree."""
        response = self.send(get_line(b"GET /echo HTTP/1.1", HOST + b"X-Request-Id: first\r\n"
                                      b"X-Request-Id: second\r\n")).read_response()
        self.assertEqual(response.status, 200, str(response))
        self.assertEqual(self.backend.requests[-1].headers_named("X-Request-Id"), ["first"])
        uuid = "123e4567-e89b-12d3-a456-426614174000"
        response = self.send(get_line(b"GET /echo HTTP/1.1", HOST + b"X-Request-Id: "
                                      + uuid.encode() + b"\r\n")).read_response()
        self.assertEqual(self.backend.requests[-1].headers_named("X-Request-Id"), [uuid])
        response = self.send(get_line(b"GET /echo HTTP/1.1", HOST + b"X-Request-Id: "
                                      + b"l" * 65 + b"\r\n")).read_response()
        self.assertEqual(response.status, 200, str(response))
        [request_id] = self.backend.requests[-1].headers_named("X-Request-Id")
        self.assertRegex(request_id, REQUEST_ID)

    def test_error_after_a_valid_pipelined_request(self):
        conn = self.send(get_line(b"GET /first HTTP/1.1") + get_line(b"GET /a#b HTTP/1.1")
                         + get_line(b"GET /third HTTP/1.1"))
        self.assertEqual(conn.read_response().body, b"h GET /first\n")
        self.assertProxyError(conn.read_response(), 400, "second request has '#' in its target")
        self.assertTrue(conn.closed_within(2))
        time.sleep(self.SETTLE)
        self.assertEqual(self.backend.targets(), ["/first"])


def _vector_test(vector: Vector):
    def test(self):
        self.assertRefused(self.port, vector.raw, vector.status, msg=vector.why)
        if vector.in_body:
            self.assertNoCompleteRequest(self.backend, msg=vector.why)
        else:
            self.assertBackendGotNothing(self.backend, msg=vector.why)
        self.assertNothingSmuggled()

    test.__doc__ = f"{vector.why} -> {'/'.join(map(str, vector.status))}"
    return test


for _vector in VECTORS:
    assert not hasattr(RequestVectorTest, f"test_{_vector.name}"), _vector.name
    setattr(RequestVectorTest, f"test_{_vector.name}", _vector_test(_vector))



if __name__ == "__main__":
    unittest.main()
