# Strict HTTP/2 request translation (RFC 9113 §8.2, §8.3; issue 18 section 5; docs/http2-plan.md
# §1.3 and §4): each vector is a request no conforming client sends, written with hand-built
# frames (stateless HPACK, so any name, case, byte or order goes out as given) in one write with
# the preface. ringlb answers RST_STREAM PROTOCOL_ERROR, or its own status where a response is
# still possible, and the recording backend receives nothing; a fresh connection is then
# served. The content-length vectors also run with the body in later writes, after the head
# has gone to the backend: no complete request there, and that upstream connection is closed.
import unittest
from dataclasses import dataclass

from harness import free_port, wait_until
from h2_harness import H2Client, RawH2, needs_h2
from h2_raw import (ERROR_NAMES, PREFACE, data_frame, header_block, headers_frame,
                    request_headers, settings_frame)
from http_harness import HttpBackend, SharedProxyTestCase, http_config

RST = ("rst PROTOCOL_ERROR",)
BAD = (400,)


@dataclass
class H2Vector:
    name: str
    headers: list
    expect: tuple  # "rst CODE" outcomes or statuses that are acceptable
    why: str
    body: tuple = ()  # DATA payloads; the last one (or the trailers) ends the stream
    trailers: list | None = None
    trailers_end: bool = True
    spread: bool = False  # also run with the DATA frames sent after the head reached the backend

    def frames(self, sid: int = 1, *, head: bool = True, rest: bool = True) -> bytes:
        out = b""
        if head:
            ends = not self.body and self.trailers is None
            out += headers_frame(sid, header_block(self.headers), end_stream=ends)
        if rest:
            for i, payload in enumerate(self.body):
                last = i == len(self.body) - 1 and self.trailers is None
                out += data_frame(sid, payload, end_stream=last)
            if self.trailers is not None:
                out += headers_frame(sid, header_block(self.trailers),
                                     end_stream=self.trailers_end)
        return out


def get(extra=(), path="/v", **kw):
    return request_headers("GET", path, extra, **kw)


def post(length, extra=()):
    return request_headers("POST", "/v", [("content-length", length), *extra])


def without(name):
    return [(n, v) for n, v in get() if n != name]


def pseudo(*pairs):
    return list(pairs)


VECTORS = [
    # Connection-specific fields (RFC 9113 §8.2.2).
    H2Vector("connection_field", get([("connection", "keep-alive")]), RST, "connection"),
    H2Vector("keep_alive", get([("keep-alive", "timeout=5")]), RST, "keep-alive"),
    H2Vector("proxy_connection", get([("proxy-connection", "keep-alive")]), RST,
             "proxy-connection"),
    H2Vector("transfer_encoding", post("5", [("transfer-encoding", "chunked")]), RST,
             "transfer-encoding (the H2.TE smuggling class)", body=(b"hello",)),
    H2Vector("upgrade", get([("upgrade", "websocket")]), RST, "upgrade"),
    H2Vector("te_gzip", get([("te", "gzip")]), RST, "te other than trailers"),
    H2Vector("te_trailers_gzip", get([("te", "trailers, gzip")]), RST, "te a list"),
    # Field names and values (RFC 9113 §8.2, §8.2.1).
    H2Vector("uppercase_name", get([("X-Upper", "1")]), RST, "uppercase in a field name"),
    H2Vector("cr_in_value", get([("x-a", "a\rb")]), RST, "CR in a value"),
    H2Vector("lf_in_value", get([("x-a", "a\nX-Injected: 1")]), RST,
             "LF in a value (a second field in HTTP/1.1)"),
    H2Vector("nul_in_value", get([("x-a", "a\0b")]), RST, "NUL in a value"),
    H2Vector("leading_space_value", get([("x-a", " a")]), RST, "leading whitespace in a value"),
    H2Vector("trailing_space_value", get([("x-a", "a ")]), RST,
             "trailing whitespace in a value"),
    H2Vector("space_in_name", get([("x a", "v")]), RST, "space in a field name"),
    H2Vector("colon_in_name", get([("x:a", "v")]), RST, "colon inside a field name"),
    H2Vector("crlf_in_name", get([("x-a\r\nx-injected", "v")]), RST, "CRLF in a field name"),
    # Pseudo-header fields (RFC 9113 §8.3).
    H2Vector("missing_method", without(":method"), RST, "no :method"),
    H2Vector("missing_path", without(":path"), RST, "no :path"),
    H2Vector("missing_scheme", without(":scheme"), RST, "no :scheme"),
    H2Vector("missing_authority_and_host", without(":authority"), RST,
             "neither :authority nor host"),
    H2Vector("empty_path", get(path=""), RST, "empty :path"),
    H2Vector("relative_path", get(path="v"), RST, ":path not starting with /"),
    H2Vector("space_in_path", get(path="/a b"), RST, "space in :path"),
    H2Vector("duplicate_path", get([(":path", "/other")]), RST, "two :path"),
    H2Vector("duplicate_method", pseudo((":method", "GET"), (":method", "POST"),
                                        (":scheme", "http"), (":authority", "h.test"),
                                        (":path", "/v")), RST, "two :method"),
    H2Vector("pseudo_after_regular", pseudo((":method", "GET"), (":scheme", "http"),
                                            ("x-a", "1"), (":authority", "h.test"),
                                            (":path", "/v")), RST,
             "a pseudo-header after a regular field"),
    H2Vector("unknown_pseudo", get([(":foo", "bar")]), RST, "an unknown pseudo-header"),
    H2Vector("response_pseudo_in_request", get([(":status", "200")]), RST,
             ":status in a request"),
    H2Vector("pseudo_in_trailer", request_headers("POST", "/v"), RST,
             "a pseudo-header in trailers", body=(b"hello",), trailers=[(":path", "/x")]),
    H2Vector("trailers_without_end_stream", request_headers("POST", "/v"), RST,
             "trailers without END_STREAM", body=(b"hello",), trailers=[("x-t", "1")],
             trailers_end=False),
    # Framing: content-length against DATA (the H2.CL desync class).
    H2Vector("cl_larger_than_data", post("10"), RST, "content-length 10, 5 bytes of DATA",
             body=(b"hello",), spread=True),
    H2Vector("cl_smaller_than_data", post("3"), RST,
             "content-length 3, 5 bytes of DATA (the rest would be a smuggled request)",
             body=(b"hello",), spread=True),
    H2Vector("cl_smaller_than_data_frames", post("5"), RST, "content-length 5, then 5 + 5 bytes",
             body=(b"hello", b"GET /"), spread=True),
    H2Vector("two_content_lengths", post("5", [("content-length", "5")]), RST,
             "two content-length fields", body=(b"hello",)),
    H2Vector("cl_not_decimal", post("0x5"), RST, "a content-length that is not decimal",
             body=(b"hello",)),
    # What nghttp2 accepts and ringlb refuses (docs/http2-plan.md §1.3).
    H2Vector("authority_host_mismatch", get([("host", "other.test")]), BAD,
             ":authority and host disagree"),
    H2Vector("two_hosts", without(":authority") + [("host", "h.test"), ("host", "o.test")],
             RST + BAD, "two host fields"),
    H2Vector("authority_with_userinfo", get(authority="user@h.test"), RST + BAD,
             ":authority with userinfo is not uri-host[:port]"),
    H2Vector("connect", pseudo((":method", "CONNECT"), (":authority", "h.test:443")), (501,),
             "CONNECT is not tunnelled"),
    H2Vector("extended_connect", pseudo((":method", "CONNECT"), (":protocol", "websocket"),
                                        (":scheme", "http"), (":path", "/ws"),
                                        (":authority", "h.test")), RST,
             ":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL"),
    H2Vector("path_backslash", get(path="/dead\\x"), BAD,
             "a backslash in the path (row 32: would get around a route)"),
    H2Vector("path_hash", get(path="/a#b"), BAD, "# in the path (row 32, CVE-2023-45539)"),
    H2Vector("path_byte_80", get(path="/a\x80b"), RST + BAD, "a byte >= 0x80 in the path"),
    H2Vector("path_bad_percent", get(path="/a%zzb"), BAD, "a bad %XX (row 36)"),
    H2Vector("path_encoded_nul", get(path="/a%00b"), BAD, "an encoded NUL (row 36)"),
]


def outcome(raw: RawH2, sid: int = 1) -> str | int:
    code = raw.rst(sid)
    if code is not None:
        return f"rst {ERROR_NAMES.get(code, code)}"
    status = raw.status(sid)
    if status is not None:
        return status
    if raw.goaways():
        return f"goaway {ERROR_NAMES.get(raw.goaway_codes()[0])}"
    return "closed" if raw.closed else "nothing"


@needs_h2
class H2RequestVectorTest(SharedProxyTestCase):
    """One ringlb in front of a recording backend; each vector on its own connection."""

    @classmethod
    def make_backends(cls):
        cls.backend = HttpBackend("h")
        return [cls.backend]

    @classmethod
    def config(cls, port):
        return http_config(port, {"app": [cls.backend.port], "dead": [free_port()]},
                           routes=[{"path_prefix": "/dead/", "pool": "dead"}])

    def send_vector(self, data: bytes) -> RawH2:
        raw = RawH2(self.port, preface=False)
        self.addCleanup(raw.close)
        raw.send(PREFACE + settings_frame() + data)
        return raw

    def settle(self, raw: RawH2, sid: int = 1) -> str | int:
        raw.wait(lambda: outcome(raw, sid) != "nothing", 3.0)
        if isinstance(outcome(raw, sid), int):
            raw.wait(lambda: any("END_STREAM" in f.flags for f in raw.frames
                                 if f.stream_id == sid and hasattr(f, "data")), 2.0)
        return outcome(raw, sid)

    def assertStillServed(self, msg: str):
        with H2Client(self.port) as client:
            stream = client.get("/after")
            self.assertEqual(stream.status, 200, f"{msg}\nfresh connection after: {stream}")

    def test_te_trailers_is_served(self):
        with H2Client(self.port) as client:
            stream = client.get("/echo", [("te", "trailers")])
        self.assertEqual(stream.status, 200, str(stream))

    def test_underscore_fields_are_dropped_as_for_http11(self):
        with H2Client(self.port) as client:
            stream = client.get("/echo", [("x_forwarded_for", "6.6.6.6"), ("x-kept", "yes")])
        self.assertEqual(stream.status, 200, str(stream))
        [request] = self.backend.requests
        self.assertEqual([n for n, _ in request.headers if "_" in n], [], request.raw_head)
        self.assertEqual(request.headers_named("X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(request.headers_named("X-Kept"), ["yes"])

    def test_options_asterisk_is_forwarded(self):
        with H2Client(self.port) as client:
            stream = client.response(client.request("OPTIONS", "*"))
        self.assertEqual(stream.status, 200, str(stream))
        self.assertEqual([(r.method, r.target) for r in self.backend.requests], [("OPTIONS", "*")])


def _vector_test(vector: H2Vector):
    def test(self):
        raw = self.send_vector(vector.frames())
        got = self.settle(raw)
        self.assertIn(got, vector.expect, f"{vector.why}: {raw.summary()}")
        self.assertBackendGotNothing(self.backend, msg=vector.why)
        self.assertStillServed(vector.why)

    test.__doc__ = f"{vector.why} -> {' or '.join(map(str, vector.expect))}"
    return test


def _spread_test(vector: H2Vector):
    def test(self):
        raw = self.send_vector(vector.frames(rest=False))
        self.assertTrue(wait_until(lambda: len(self.backend.requests) == 1, 3.0),
                        f"the head never reached the backend: {raw.summary()}")
        raw.send(vector.frames(head=False))
        got = self.settle(raw)
        self.assertIn(got, vector.expect, f"{vector.why} (body in a later write): "
                                          f"{raw.summary()}")
        self.assertNoCompleteRequest(self.backend, msg=vector.why)
        self.assertStillServed(vector.why)

    test.__doc__ = f"{vector.why}, body sent after the head went on -> no complete request"
    return test


for _vector in VECTORS:
    assert not hasattr(H2RequestVectorTest, f"test_{_vector.name}"), _vector.name
    setattr(H2RequestVectorTest, f"test_{_vector.name}", _vector_test(_vector))
    if _vector.spread:
        setattr(H2RequestVectorTest, f"test_{_vector.name}_spread", _spread_test(_vector))


if __name__ == "__main__":
    unittest.main()
