# Routing on what a request means, not how it is spelled: a Host with a trailing dot takes its
# host route, and every spelling of a path a normalizing backend would serve takes the
# path_prefix route it names (or is refused).
import unittest

from hardening_requests import get_line
from http_harness import HttpBackend, HttpTestCase, get


class TrailingDotHostTest(HttpTestCase):
    """A fully qualified Host ("api.example.com.") is the same host: routed by its host route,
    and forwarded without the dot, so the backend's virtual host matches too."""

    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "app")
        self.api = self.backend(HttpBackend, "api")
        self.wild = self.backend(HttpBackend, "wild")
        self.port = self.start_http({"app": [self.app.port], "api": [self.api.port],
                                     "wild": [self.wild.port]},
                                    routes=[{"host": "api.example.com", "pool": "api"},
                                            {"host": "*.internal.test", "pool": "wild"}])

    def test_a_trailing_dot_host_takes_its_host_route(self):
        for host, backend, forwarded in [("api.example.com.", "api", "api.example.com"),
                                         ("API.Example.com.:8080", "api", "API.Example.com:8080"),
                                         ("db.internal.test.", "wild", "db.internal.test"),
                                         ("other.test.", "app", "other.test")]:
            with self.subTest(host=host):
                response = get(self.port, "/echo", host=host)
                self.assertEqual(response.header("X-Backend"), backend, str(response))
                server = {"app": self.app, "api": self.api, "wild": self.wild}[backend]
                request = server.requests[-1]
                self.assertEqual(request.headers_named("Host"), [forwarded])
                self.assertEqual(request.headers_named("X-Forwarded-Host"), [forwarded])

    def test_absolute_form_authority_with_a_trailing_dot(self):
        response = get(self.port, "http://api.example.com./v1", host="other.test")
        self.assertEqual(response.header("X-Backend"), "api", str(response))
        self.assertEqual(self.api.requests[-1].headers_named("Host"), ["api.example.com"])


class PathPrefixNormalizationTest(HttpTestCase):
    """A path_prefix route compares the normalized path, as nginx matches locations: every other
    spelling of /v1/secret that a normalizing backend serves as /v1/secret takes the /v1/ route
    (or is refused), never the default pool; the backend still gets the target as it was sent."""

    BYPASSES = ["/x/../v1/secret", "/./v1/secret", "//v1/secret", "/v1%2Fsecret",
                "/%2e/v1/secret", "/x/%2e%2e/v1/secret", "/%761/secret", "/v1;x/secret",
                "/v1/./secret", "/../v1/secret", "/%2E%2E/v1/secret?x=1"]

    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "app")
        self.cap = self.backend(HttpBackend, "cap")
        self.port = self.start_http({"app": [self.app.port], "cap": [self.cap.port]},
                                    routes=[{"path_prefix": "/v1/", "pool": "cap"}])

    def test_dot_segments_slashes_and_encodings_take_the_route(self):
        for target in self.BYPASSES:
            with self.subTest(target=target):
                response = get(self.port, target)
                self.assertIn(response.status, (200, 400), str(response))
                if response.status == 200:
                    self.assertEqual(response.header("X-Backend"), "cap", str(response))
                    self.assertEqual(self.cap.requests[-1].target, target,
                                     "the backend gets the target as the client sent it")
        self.assertEqual(self.app.targets(), [],
                         "a spelling of /v1/secret reached the default pool")

    def test_other_paths_still_reach_the_default_pool(self):
        for target in ["/v1", "/v2/secret", "/v1/../v2/x", "/v1%2F..%2Fv2", "/?p=/v1/x"]:
            with self.subTest(target=target):
                response = get(self.port, target)
                self.assertEqual(response.header("X-Backend"), "app", str(response))

    def test_a_bad_percent_escape_or_an_encoded_nul_is_400(self):
        for target in [b"/v1%zz/secret", b"/v1%2", b"/a%00b"]:
            with self.subTest(target=target):
                self.assertRefused(self.port, get_line(b"GET " + target + b" HTTP/1.1"), 400)
        self.assertBackendGotNothing(self.app)
        self.assertBackendGotNothing(self.cap)


if __name__ == "__main__":
    unittest.main()
