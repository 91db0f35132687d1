# HTTP/2 towards clients on http listeners: curl gets `HTTP/2 200` by prior knowledge (h2c) and
# by ALPN over TLS while HTTP/1.1 keeps working on the same ports; `enabled = false` turns both
# off; a stream reaches the backend as HTTP/1.1 with the same forwarding fields an HTTP/1.1
# request gets; the access log names the protocol and the stream; a client RST_STREAM closes the
# stream's backend connection. Streams side by side, trailers and GOAWAY: test_h2_streams.py.
import json
import os
import re
import socket
import struct
import time
import unittest
from pathlib import Path

from harness import HOST, free_port, wait_until
from h2_harness import (H2TestCase, curl, curl_body, curl_status_line, http2_section, needs_h2,
                        tls_section)
from http_harness import (REQUEST_ID, FaultBackend, HttpBackend, HttpConn, NoResponse, get,
                          http_config)
from tls_harness import Pki, client_context, have_openssl, tls_connect

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def log_fields(line: str) -> dict[str, str]:
    """key=value pairs of a text access log line; a "quoted value" is unquoted."""
    found = {}
    for key, value in FIELD.findall(line):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        found.setdefault(key, value)
    return found


@needs_h2
class PlainListenerTest(H2TestCase):
    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "b1")
        self.port = self.start_http([self.app.port])

    def test_curl_prior_knowledge_gets_http2_200_with_the_backend_s_body(self):
        out = curl("-i", "--http2-prior-knowledge", f"http://{HOST}:{self.port}/hello?x=1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(curl_status_line(out.stdout), "HTTP/2 200", out.stdout[:300])
        self.assertEqual(curl_body(out.stdout), b"b1 GET /hello?x=1\n")
        [request] = self.app.requests
        self.assertEqual((request.method, request.target, request.version),
                         ("GET", "/hello?x=1", "HTTP/1.1"))

    def test_http11_on_the_same_port_is_still_served(self):
        out = curl("-i", "--http1.1", f"http://{HOST}:{self.port}/one")
        self.assertEqual(curl_status_line(out.stdout), "HTTP/1.1 200 OK", out.stdout[:300])
        response = get(self.port, "/two")
        self.assertEqual((response.version, response.status), ("HTTP/1.1", 200))
        self.assertEqual(response.body, b"b1 GET /two\n")

    def test_forwarding_fields_are_those_of_http11(self):
        stream = self.h2(self.port).get("/echo", authority="Site.Test:8080")
        self.assertEqual(stream.status, 200, str(stream))
        [request] = self.app.requests
        self.assertEqual(request.version, "HTTP/1.1")
        self.assertEqual(request.headers_named("Host"), ["Site.Test:8080"], request.raw_head)
        self.assertEqual(request.headers_named("X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(request.headers_named("X-Forwarded-Proto"), ["http"])
        self.assertEqual(request.headers_named("X-Forwarded-Host"), ["Site.Test:8080"])
        [via] = request.headers_named("Via")
        self.assertEqual(via, "2 ringlb", request.raw_head)  # RFC 9110 §7.6.3: the received protocol
        [request_id] = request.headers_named("X-Request-Id")
        self.assertRegex(request_id, REQUEST_ID)
        self.assertNotIn(b"\r\n:", request.raw_head, "a pseudo-header reached the backend")

    def test_client_fields_are_kept_forged_ones_replaced_and_cookies_joined(self):
        client = self.h2(self.port)
        stream = client.get("/echo", [("x-forwarded-for", "203.0.113.7"),
                                      ("x-forwarded-proto", "https"),
                                      ("x-request-id", "client-chosen-id-42"),
                                      ("cookie", "a=1"), ("cookie", "b=2"),
                                      ("x-multi", "one"), ("x-multi", "two")])
        self.assertEqual(stream.status, 200, str(stream))
        request = self.app.requests[-1]
        self.assertEqual(request.headers_named("X-Forwarded-For"), ["203.0.113.7, 127.0.0.1"])
        self.assertEqual(request.headers_named("X-Forwarded-Proto"), ["http"])
        self.assertEqual(request.headers_named("X-Request-Id"), ["client-chosen-id-42"])
        self.assertEqual(request.headers_named("Cookie"), ["a=1; b=2"], request.raw_head)
        self.assertEqual(request.headers_named("X-Multi"), ["one", "two"])

    def test_bodies_methods_and_statuses_pass_through(self):
        client = self.h2(self.port)
        body = bytes(range(256)) * 40
        stream = client.response(client.request("POST", "/echo", body=body))
        echoed = json.loads(stream.body)
        self.assertEqual((echoed["method"], echoed["body"].encode("latin-1")), ("POST", body))
        for code in (201, 204, 404, 503):
            self.assertEqual(client.get(f"/status/{code}").status, code)
        head = client.response(client.request("HEAD", "/stream/1000"))
        self.assertEqual((head.status, head.header("content-length"), head.body_len),
                         (200, "1000", 0))

    def test_streams_one_after_another_reuse_one_upstream_connection(self):
        client = self.h2(self.port)
        for i in range(5):
            self.assertEqual(client.get(f"/seq/{i}").body, f"b1 GET /seq/{i}\n".encode())
        self.assertEqual(self.app.connections, 1, "the upstream connection was not pooled")


@needs_h2
@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class TlsListenerTest(H2TestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.cert = self.pki.leaf("a", ["a.test"])
        self.app = self.backend(HttpBackend, "b1")
        self.port = free_port()
        self.start_ringlb(http_config(self.port, [self.app.port])
                          + tls_section("web", [self.cert]), self.port)

    def curl_tls(self, *flags: str, path: str = "/hello"):
        return curl("-i", *flags, "--cacert", self.pki.ca, "--resolve",
                    f"a.test:{self.port}:{HOST}", f"https://a.test:{self.port}{path}")

    def test_curl_http2_negotiates_h2_by_alpn(self):
        out = self.curl_tls("--http2")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(curl_status_line(out.stdout), "HTTP/2 200", out.stdout[:300])
        self.assertEqual(curl_body(out.stdout), b"b1 GET /hello\n")

    def test_h2_is_preferred_and_http11_still_served(self):
        for offered, chosen in ((["http/1.1", "h2"], "h2"), (["http/1.1"], "http/1.1")):
            with tls_connect(self.port, client_context(self.pki, alpn=offered), "a.test") as s:
                self.assertEqual(s.selected_alpn_protocol(), chosen, offered)
        out = self.curl_tls("--http1.1")
        self.assertEqual(curl_status_line(out.stdout), "HTTP/1.1 200 OK", out.stdout[:300])

    def test_clients_that_leave_right_after_choosing_h2_do_not_disturb_others(self):
        for offered in (["h2"], ["http/1.1", "h2"], ["h2", "http/1.1"]) * 2:
            with tls_connect(self.port, client_context(self.pki, alpn=offered), "a.test") as s:
                self.assertEqual(s.selected_alpn_protocol(), "h2", offered)
        for flag, status_line in (("--http1.1", "HTTP/1.1 200 OK"), ("--http2", "HTTP/2 200")):
            out = self.curl_tls(flag)
            self.assertEqual(curl_status_line(out.stdout), status_line, f"{flag}: {out}")

    def test_x_forwarded_proto_is_https(self):
        sock = tls_connect(self.port, client_context(self.pki, alpn=["h2"]), "a.test")
        stream = self.h2(None, sock=sock, scheme="https", authority="a.test").get("/echo")
        self.assertEqual(stream.status, 200, str(stream))
        request = self.app.requests[-1]
        self.assertEqual(request.headers_named("X-Forwarded-Proto"), ["https"])
        self.assertEqual(request.headers_named("Host"), ["a.test"])
        self.assertEqual(request.headers_named("X-Forwarded-For"), ["127.0.0.1"])


@needs_h2
class DisabledTest(H2TestCase):
    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "b1")
        self.port = free_port()

    def start(self, extra: str = ""):
        self.start_ringlb(http_config(self.port, [self.app.port]) + extra
                          + http2_section(enabled=False), self.port)

    def test_the_preface_gets_505_and_http11_is_served(self):
        self.start()
        self.assertRefused(self.port, PREFACE, 505, msg="h2 preface with http2.enabled = false")
        self.assertBackendGotNothing(self.app)
        self.assertEqual(get(self.port, "/one").status, 200)

    @unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
    def test_tls_alpn_offers_only_http11(self):
        pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.start(tls_section("web", [pki.leaf("a", ["a.test"])]))
        context = client_context(pki, alpn=["h2", "http/1.1"])
        with tls_connect(self.port, context, "a.test") as sock:
            self.assertEqual(sock.selected_alpn_protocol(), "http/1.1")
        out = curl("-i", "--http2", "--cacert", pki.ca, "--resolve", f"a.test:{self.port}:{HOST}",
                   f"https://a.test:{self.port}/x")
        self.assertEqual(curl_status_line(out.stdout), "HTTP/1.1 200 OK", out.stdout[:300])


@needs_h2
class AccessLogTest(H2TestCase):
    log_format = "text"

    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "b1")
        self.log_path = Path(self.tmpdir) / "access.log"
        self.port = self.start_http([self.app.port], access_log=str(self.log_path),
                                    log_format=self.log_format)

    def entries(self) -> list[dict]:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        if self.log_format == "json":
            return [json.loads(line) for line in lines if line.strip()]
        return [log_fields(line) | {"_line": line} for line in lines]

    def entry_for(self, target: str) -> dict:
        def find():
            return next((e for e in self.entries() if e.get("target") == target), None)

        wait_until(lambda: find() is not None, 3.0)
        entry = find()
        self.assertIsNotNone(entry, f"no access log entry for {target}: {self.entries()[-5:]}")
        return entry

    def test_protocol_and_stream_are_logged(self):
        client = self.h2(self.port)
        self.assertEqual(client.get("/first").status, 200)
        self.assertEqual(client.get("/second").status, 200)
        with HttpConn(self.port) as conn:
            self.assertEqual(conn.request("GET", "/http11").status, 200)
        first, second = self.entry_for("/first"), self.entry_for("/second")
        self.assertEqual(first.get("protocol"), "HTTP/2.0", first)
        self.assertEqual(str(first.get("stream")), "1", first)
        self.assertEqual(str(second.get("stream")), "3", second)
        self.assertEqual(str(first.get("status")), "200", first)
        http11 = self.entry_for("/http11")
        self.assertEqual(http11.get("protocol"), "HTTP/1.1", http11)
        self.assertIn(str(http11.get("stream")), ("-", "None", ""), http11)


class _ResetLaterBackend(FaultBackend):
    """Sends `raw` after a request head, waits until ringlb has relayed it, then resets."""

    def handle(self, conn):
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            data = conn.recv(1 << 16)
            if not data:
                return
            buf += data
        conn.sendall(self.raw)
        time.sleep(0.3)  # the client's connection is idle again when the reset comes
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@needs_h2
class BackendResetMidResponseTest(H2TestCase):
    """A backend that resets mid-response: the client's stream is reset, and the access log
    names the backend's failure, not a stream reset of the client's (ringlb's own RST_STREAM is
    not taken for one, so passive health and the cause stay the backend's)."""

    def test_the_log_names_the_backend_not_the_client(self):
        backend = self.backend(_ResetLaterBackend, "raw",
                               b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        log_path = Path(self.tmpdir) / "access.log"
        port = self.start_http([backend.port], access_log=str(log_path))
        client = self.h2(port)
        stream = client.response(client.request("GET", "/cut"), timeout=5)
        self.assertIsNotNone(stream.reset, f"a cut response must not look whole: {stream}")

        def entry():
            lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
            return next((log_fields(line) for line in lines if "target=/cut" in line), None)

        self.assertTrue(wait_until(lambda: entry() is not None, 3.0), "no access log line")
        end = entry().get("end", "")
        self.assertIn("backend", end, entry())
        self.assertNotIn("stream", end, entry())


class JsonAccessLogTest(AccessLogTest):
    log_format = "json"


@needs_h2
class ClientResetTest(H2TestCase):
    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "b1")
        self.hang = self.backend(FaultBackend, "hang")
        self.port = self.start_http({"app": [self.app.port], "hang": [self.hang.port]},
                                    routes=[{"path_prefix": "/hang/", "pool": "hang"}],
                                    response_timeout="3s")

    def test_rst_stream_closes_the_stream_s_backend_connection(self):
        client = self.h2(self.port)
        sid = client.request("GET", "/hang/slow")
        self.assertTrue(wait_until(lambda: len(self.hang.heads) == 1, 3.0),
                        "the request never reached the slow backend")
        client.reset(sid)
        self.assertTrue(wait_until(lambda: self.hang.peer_closed == 1, 2.0),
                        "the backend connection is still open 2 s after the client's RST_STREAM")
        stream = client.get("/after")
        self.assertEqual(stream.status, 200, f"the connection is unusable after a reset: {stream}")

    def test_a_reset_in_the_middle_of_a_response_leaves_everything_else_served(self):
        """Three times: a download reset after 200 KB; then HTTP/1.1 on a new connection and a
        new stream on the same one are answered (the failure this catches is timing-bound)."""
        client = self.h2(self.port)
        for round_ in range(3):
            sid = client.request("GET", "/stream/40000000")
            self.assertTrue(client.wait(lambda: client.streams[sid].body_len >= 200000, 3.0))
            client.reset(sid)
            self.assertTrue(wait_until(lambda: self.app.conns[-1].closed, 2.0),
                            f"round {round_}: the reset stream's backend connection is open")
            try:
                response = get(self.port, f"/http11-after-{round_}")
            except NoResponse as e:
                self.fail(f"round {round_}: HTTP/1.1 on a new connection after the reset: {e}")
            self.assertEqual(response.status, 200, f"round {round_}: HTTP/1.1: {response}")
            stream = client.get(f"/h2-after-{round_}")
            self.assertEqual(stream.status, 200, f"round {round_}: a new stream: {stream}")

    def test_closing_the_connection_closes_every_stream_s_backend_connection(self):
        client = self.h2(self.port)
        for i in range(3):
            client.request("GET", f"/hang/{i}")
        self.assertTrue(wait_until(lambda: len(self.hang.heads) == 3, 3.0), self.hang.heads)
        client.close()
        self.assertTrue(wait_until(lambda: self.hang.peer_closed == 3, 2.0),
                        f"{self.hang.peer_closed} of 3 backend connections closed")


if __name__ == "__main__":
    unittest.main()
