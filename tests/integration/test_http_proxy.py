# HTTP/1.1 proxying through a `protocol = "http"` listener: GET/POST, the header rewriting
# (X-Forwarded-*, Via, X-Request-Id, hop-by-hop removal, Host kept), absolute-form targets,
# routes, keep-alive with pooled upstream connections, pipelining in order, and retries.
import json
import time
import unittest

from harness import BlackholeListener, free_port, wait_until
from http_harness import (REQUEST_ID, FaultBackend, HttpBackend, HttpConn, HttpTestCase,
                          build_request, get)


class BasicsTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.backend = self.backend(HttpBackend, "b1")
        self.port = self.start_http([self.backend.port])

    def test_get_reaches_the_backend_and_the_answer_comes_back(self):
        response = get(self.port, "/hello?x=1")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, b"b1 GET /hello?x=1\n")
        self.assertEqual(response.header("X-Backend"), "b1")
        [request] = self.backend.requests
        self.assertEqual((request.method, request.target), ("GET", "/hello?x=1"))
        self.assertEqual(request.framing, "none")

    def test_post_body_arrives_and_the_echo_comes_back(self):
        body = bytes(range(256)) * 40
        echoed = self.conn(self.port).request("POST", "/echo", body=body).json()
        self.assertEqual(echoed["method"], "POST")
        self.assertEqual(echoed["body"].encode("latin-1"), body)
        self.assertEqual(self.backend.requests[0].content_length, len(body))

    def test_methods_and_status_codes_pass_through(self):
        conn = self.conn(self.port)
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
            response = conn.request(method, "/echo", body=b"x" if method != "OPTIONS" else b"")
            self.assertEqual(response.json()["method"], method)
        for code in (201, 204, 304, 404, 500, 503):
            response = conn.request("GET", f"/status/{code}")
            self.assertEqual(response.status, code, f"GET /status/{code}")
        self.assertEqual(conn.request("GET", "/").status, 200, "keep-alive lost after a 304")

    def test_head_response_has_no_body_and_the_connection_stays_usable(self):
        conn = self.conn(self.port)
        response = conn.request("HEAD", "/stream/100000", timeout=2)
        self.assertEqual(response.header("Content-Length"), "100000")
        self.assertEqual(response.body, b"")
        self.assertEqual(conn.request("GET", "/after-head").body, b"b1 GET /after-head\n")

    def test_client_connection_close_is_honoured(self):
        conn = self.conn(self.port)
        response = conn.request("GET", "/", [("Connection", "close")])
        self.assertEqual(response.status, 200)
        self.assertTrue(response.closes, f"no Connection: close in {response.headers}")
        self.assertTrue(conn.closed_within(2), "client connection open after Connection: close")

    def test_http10_client_is_answered_and_closed(self):
        conn = self.conn(self.port)
        response = conn.request("GET", "/echo", version="HTTP/1.0", host=None)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.json()["target"], "/echo")
        # No Host from the client: the pool's name goes instead, as nginx sends its upstream's.
        headers = {n.lower(): v for n, v in response.json()["headers"]}
        self.assertEqual(headers.get("host"), "app")
        self.assertTrue(conn.closed_within(2), "HTTP/1.0 connection without keep-alive open")


class HeaderRewritingTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.backend = self.backend(HttpBackend, "b1")
        self.port = self.start_http([self.backend.port])

    def forwarded(self, headers=(), host="site.test", target="/echo"):
        """The request as the backend saw it, for a GET with `headers`."""
        response = get(self.port, target, headers, host=host)
        self.assertEqual(response.status, 200, str(response))
        return self.backend.requests[-1]

    def test_forwarding_fields_are_added(self):
        request = self.forwarded(host="Site.Test:8080")
        self.assertEqual(request.headers_named("X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(request.headers_named("X-Forwarded-Proto"), ["http"])
        self.assertEqual(request.headers_named("X-Forwarded-Host"), ["Site.Test:8080"])
        self.assertEqual(request.headers_named("Via"), ["1.1 ringlb"])
        self.assertEqual(request.headers_named("Host"), ["Site.Test:8080"], "Host not preserved")
        ids = request.headers_named("X-Request-Id")
        self.assertEqual(len(ids), 1, request.raw_head)
        self.assertRegex(ids[0], REQUEST_ID)

    def test_x_forwarded_for_is_appended_to(self):
        request = self.forwarded([("X-Forwarded-For", "203.0.113.7, 10.0.0.1")])
        self.assertEqual(request.headers_named("X-Forwarded-For"),
                         ["203.0.113.7, 10.0.0.1, 127.0.0.1"])

    def test_forged_proto_and_host_are_replaced(self):
        request = self.forwarded([("X-Forwarded-Proto", "https"),
                                  ("X-Forwarded-Host", "evil.test")], host="real.test")
        self.assertEqual(request.headers_named("X-Forwarded-Proto"), ["http"])
        self.assertEqual(request.headers_named("X-Forwarded-Host"), ["real.test"])

    def test_request_ids_are_fresh_per_request_and_a_client_id_is_kept(self):
        ids = {self.forwarded().header("X-Request-Id") for _ in range(5)}
        self.assertEqual(len(ids), 5, f"request ids repeat: {ids}")
        request = self.forwarded([("X-Request-Id", "client-chosen-id-42")])
        self.assertEqual(request.headers_named("X-Request-Id"), ["client-chosen-id-42"])

    def test_hop_by_hop_fields_are_removed(self):
        request = self.forwarded([
            ("Connection", "keep-alive, X-Private, x-other-private"),
            ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"), ("Trailer", "X-Checksum"), ("Upgrade", "foo/2"),
            ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"), ("X-Private", "secret"),
            ("X-Other-Private", "secret2"), ("X-End-To-End", "kept"),
        ])
        for name in ("Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade",
                     "HTTP2-Settings", "X-Private", "X-Other-Private"):
            self.assertEqual(request.headers_named(name), [], f"{name} was forwarded:\n"
                                                             f"{request.raw_head.decode()}")
        self.assertNotIn("x-private", request.tokens("Connection"))
        self.assertNotIn("upgrade", request.tokens("Connection"))
        self.assertEqual(request.headers_named("X-End-To-End"), ["kept"])

    def test_connection_cannot_strip_the_proxy_s_own_fields(self):
        """A client naming X-Forwarded-For in Connection gets it removed before ringlb adds its
        own (not after), so the backend still sees exactly ringlb's value."""
        request = self.forwarded([("Connection", "X-Forwarded-For"),
                                  ("X-Forwarded-For", "6.6.6.6")])
        self.assertEqual(request.headers_named("X-Forwarded-For"), ["127.0.0.1"])

    def test_ordinary_fields_keep_their_values_and_repeats(self):
        request = self.forwarded([("Accept", "text/html, */*;q=0.1"), ("Cookie", "a=1"),
                                  ("X-Multi", "one"), ("X-Multi", "two"),
                                  ("User-Agent", "test/1.0 (x; y)")])
        self.assertEqual(request.headers_named("Accept"), ["text/html, */*;q=0.1"])
        self.assertEqual(request.headers_named("X-Multi"), ["one", "two"])
        self.assertEqual(request.headers_named("User-Agent"), ["test/1.0 (x; y)"])
        self.assertEqual(request.headers_named("Cookie"), ["a=1"])

    def test_absolute_form_becomes_origin_form_with_its_host(self):
        response = get(self.port, "http://abs.test:81/p/q?x=1", host="other.test")
        self.assertEqual(response.status, 200, str(response))
        request = self.backend.requests[-1]
        self.assertEqual(request.target, "/p/q?x=1")
        self.assertEqual(request.headers_named("Host"), ["abs.test:81"])

    def test_hop_by_hop_fields_of_the_response_are_removed(self):
        response = get(self.port, "/hop-by-hop")
        self.assertEqual(response.status, 200)
        for name in ("X-Secret", "Keep-Alive", "Proxy-Connection"):
            self.assertEqual(response.headers_named(name), [], f"{name} reached the client")
        self.assertEqual(response.header("X-Public"), "end-to-end")

    def test_request_head_is_reserialized_not_copied(self):
        """Odd but valid spacing and case from the client is normalized before the backend."""
        raw = (b"GET /echo HTTP/1.1\r\nhost:   site.test  \r\nx-LOWER:\tvalue\t\r\n"
               b"Content-Length: 0\r\n\r\n")
        conn = self.conn(self.port)
        conn.send(raw)
        self.assertEqual(conn.read_response().status, 200)
        request = self.backend.requests[-1]
        self.assertNotIn(b"host:   site.test  ", request.raw_head)
        self.assertEqual(request.header("Host"), "site.test")
        self.assertEqual(request.header("X-Lower"), "value")
        self.assertIn(request.headers_named("Content-Length"), ([], ["0"]))


class RoutesTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "app")
        self.api = self.backend(HttpBackend, "api")
        self.wild = self.backend(HttpBackend, "wild")
        self.img = self.backend(HttpBackend, "img")
        self.port = self.start_http(
            {"app": [self.app.port], "api": [self.api.port], "wild": [self.wild.port],
             "img": [self.img.port]},
            routes=[{"host": "api.example.com", "path_prefix": "/v1/", "pool": "api"},
                    {"host": "*.example.com", "pool": "wild"},
                    {"path_prefix": "/img/", "pool": "img"},
                    {"host": "api.example.com", "pool": "api"}])

    def picked(self, host, target="/"):
        response = get(self.port, target, host=host)
        self.assertEqual(response.status, 200, f"{host} {target}: {response}")
        return response.header("X-Backend")

    def test_first_matching_route_wins(self):
        cases = [("api.example.com", "/v1/users", "api"),
                 ("api.example.com", "/v2/users", "wild"),   # rule 2 before rule 4
                 ("api.example.com", "/v1", "wild"),          # prefix "/v1/" needs the slash
                 ("www.example.com", "/v1/users", "wild"),
                 ("a.b.example.com", "/", "wild"),
                 ("example.com", "/", "app"),                 # "*.example.com" needs a label
                 ("notexample.com", "/", "app"),
                 ("other.test", "/img/cat.png", "img"),
                 ("www.example.com", "/img/cat.png", "wild"),
                 ("other.test", "/image", "app")]
        for host, target, pool in cases:
            with self.subTest(host=host, target=target):
                self.assertEqual(self.picked(host, target), pool)

    def test_host_matching_ignores_port_and_case(self):
        self.assertEqual(self.picked("API.Example.COM:8080", "/v1/x"), "api")
        self.assertEqual(self.picked("WWW.EXAMPLE.COM", "/"), "wild")

    def test_absolute_form_routes_on_its_authority(self):
        response = get(self.port, "http://api.example.com/v1/x", host="other.test")
        self.assertEqual(response.header("X-Backend"), "api", str(response))
        self.assertEqual(self.api.requests[-1].target, "/v1/x")

    def test_requests_on_one_connection_are_routed_one_by_one(self):
        conn = self.conn(self.port)
        picks = [conn.request("GET", target, host=host).header("X-Backend")
                 for host, target in [("api.example.com", "/v1/a"), ("x.test", "/"),
                                      ("x.test", "/img/a"), ("api.example.com", "/v1/b")]]
        self.assertEqual(picks, ["api", "app", "img", "api"])


class KeepAliveTest(HttpTestCase):
    def test_50_requests_on_one_connection_use_few_upstream_connections(self):
        backend = self.backend(HttpBackend, "b1")
        port = self.start_http([backend.port])
        conn = self.conn(port)
        for i in range(50):
            response = conn.request("GET", f"/r{i}")
            self.assertEqual(response.body, f"b1 GET /r{i}\n".encode(), f"request {i}")
        self.assertEqual(len(backend.requests), 50)
        self.assertLessEqual(backend.connections, 3, "upstream connections are not reused")

    def test_upstream_connections_are_reused_across_client_connections(self):
        backend = self.backend(HttpBackend, "b1")
        port = self.start_http([backend.port])
        for client in range(5):
            with HttpConn(port) as conn:
                for i in range(10):
                    self.assertEqual(conn.request("GET", f"/c{client}/{i}").status, 200)
        self.assertEqual(len(backend.requests), 50)
        self.assertLessEqual(backend.connections, 3, "upstream connections are not pooled")

    def test_backend_connection_close_is_not_reused(self):
        backend = self.backend(HttpBackend, "b1")
        port = self.start_http([backend.port])
        conn = self.conn(port)
        self.assertEqual(conn.request("GET", "/close").status, 200)
        self.assertEqual(conn.request("GET", "/next").body, b"b1 GET /next\n")
        self.assertEqual(backend.connections, 2)
        self.assertEqual([r.conn for r in backend.requests], [1, 2])

    def test_a_pooled_connection_the_backend_closed_is_not_used(self):
        """The backend closes idle connections after 0.2 s; the next request still succeeds."""
        backend = self.backend(HttpBackend, "b1", idle_close=0.2)
        port = self.start_http([backend.port])
        conn = self.conn(port)
        for i in range(3):
            self.assertEqual(conn.request("GET", f"/r{i}").status, 200, f"request {i}")
            time.sleep(0.5)
        self.assertEqual(backend.connections, 3)

    def test_idle_upstream_connection_is_closed_after_the_pool_idle_timeout(self):
        backend = self.backend(HttpBackend, "b1")
        port = self.start_http([backend.port], idle_timeout="500ms")
        self.assertEqual(get(port, "/").status, 200)
        self.assertTrue(wait_until(lambda: backend.active == 1, 1))
        start = time.monotonic()
        self.assertTrue(wait_until(lambda: backend.active == 0, 3),
                        "pooled upstream connection still open 3 s after its idle timeout")
        self.assertLess(time.monotonic() - start, 2.0)


class PipeliningTest(HttpTestCase):
    def test_pipelined_requests_are_answered_in_order(self):
        backend = self.backend(HttpBackend, "b1")
        port = self.start_http([backend.port])
        requests = [build_request("GET", "/delay/300"),
                    build_request("GET", "/a"),
                    build_request("POST", "/echo", body=b"first body"),
                    build_request("GET", "/chunked/5000?chunk=700"),
                    build_request("HEAD", "/stream/1234"),
                    build_request("POST", "/echo", body=b"chunked body", chunked=True,
                                  chunk_size=5),
                    build_request("GET", "/delay/50"),
                    build_request("GET", "/z")]
        conn = self.conn(port)
        conn.send(b"".join(requests))
        got = [conn.read_response(method="HEAD" if i == 4 else "GET") for i in range(8)]
        self.assertEqual(got[0].body, b"b1 GET /delay/300\n")
        self.assertEqual(got[1].body, b"b1 GET /a\n")
        self.assertEqual(got[2].json()["body"], "first body")
        self.assertEqual(got[3].body_len, 5000)
        self.assertEqual((got[4].status, got[4].body), (200, b""))  # HEAD: no body to skip
        self.assertEqual(got[5].json()["body"], "chunked body")
        self.assertEqual(got[6].body, b"b1 GET /delay/50\n")
        self.assertEqual(got[7].body, b"b1 GET /z\n")
        self.assertEqual(conn.request("GET", "/after").body, b"b1 GET /after\n")

    def test_a_pipelined_burst_of_100_small_requests(self):
        backend = self.backend(HttpBackend, "b1")
        port = self.start_http([backend.port])
        conn = self.conn(port, timeout=10)
        conn.send(b"".join(build_request("GET", f"/n{i}") for i in range(100)))
        bodies = [conn.read_response().body for _ in range(100)]
        self.assertEqual(bodies, [f"b1 GET /n{i}\n".encode() for i in range(100)])


class RetryTest(HttpTestCase):
    def test_refused_connect_is_retried_on_another_backend(self):
        backend = self.backend(HttpBackend, "b1")
        port = self.start_http([free_port(), backend.port])
        for i in range(10):
            with HttpConn(port) as conn:
                response = conn.request("POST", f"/echo?i={i}", body=b"payload")
                self.assertEqual(response.status, 200, f"request {i}: {response}")
                self.assertEqual(response.json()["body"], "payload")
        self.assertEqual(len(backend.requests), 10)

    def test_connect_timeout_is_retried_on_another_backend(self):
        hole = BlackholeListener()
        self.addCleanup(hole.close)
        backend = self.backend(HttpBackend, "b1")
        port = self.start_http([hole.port, backend.port], connect_timeout="300ms")
        for i in range(4):
            start = time.monotonic()
            response = get(port, f"/t{i}")
            self.assertEqual(response.status, 200, f"request {i}: {response}")
            self.assertLess(time.monotonic() - start, 2.0)
        self.assertEqual(len(backend.requests), 4)

    def test_a_sent_post_is_not_retried(self):
        """A POST that reached a backend which then reset is answered 502, never replayed."""
        reset = self.backend(FaultBackend, "reset")
        good = self.backend(HttpBackend, "good")
        port = self.start_http([reset.port, good.port])
        statuses = []
        for i in range(4):
            with HttpConn(port) as conn:
                statuses.append(conn.request("POST", f"/post{i}", body=b"once").status)
        replayed = [t for t in good.targets()
                    if any(f"POST {t} ".encode() in head for head in reset.heads)]
        self.assertEqual(replayed, [], "a POST sent to the resetting backend was replayed")
        self.assertEqual(statuses.count(502), len(reset.heads), f"statuses {statuses}")
        self.assertEqual(statuses.count(200), len(good.requests), f"statuses {statuses}")
        self.assertGreater(len(reset.heads), 0, "round robin never picked the first backend")


if __name__ == "__main__":
    unittest.main()
