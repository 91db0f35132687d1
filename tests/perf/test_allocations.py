#!/usr/bin/env python3
# ringlb allocates nothing per request once warmed up (docs/architecture.md): counted with an
# LD_PRELOAD malloc counter over thousands of keep-alive HTTP and L4 requests. HTTP/2 streams do
# allocate (nghttp2's stream and frame objects, the stream's state): their count is reported and
# held under a ceiling, so a change that adds to it is seen.
import os
import pwd
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import RinglbTestCase, free_port  # noqa: E402
from http_harness import HttpBackend, HttpConn  # noqa: E402
from h2_client import H2Client  # noqa: E402

# Allocations a sequential h2 stream may cost once warm: 8.00 measured 2026-12-07 (issue 18; the
# number this test prints). nghttp2 allocates its stream object and each outbound frame item, and
# the stream's H2StreamLink is one more.
H2_CEILING = 12

REQUESTS = 3000


class AllocationTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.counter = os.environ.get("MALLOC_COUNTER_LIB")
        if not self.counter:
            self.skipTest("MALLOC_COUNTER_LIB is not set")
        self.count_file = os.path.join(self.tmpdir, "allocations")

    def allocations(self):
        os.kill(self.ringlb.pid, signal.SIGUSR2)
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                with open(self.count_file) as f:
                    text = f.read()
                if text:
                    os.unlink(self.count_file)
                    return int(text)
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        self.fail("the malloc counter did not answer")

    def start(self, protocol):
        backend = self.backend(HttpBackend, "b")
        port = free_port()
        config = f"""
[runtime]
workers = 1
user = "{pwd.getpwuid(os.getuid()).pw_name}"
[log]
access = "{os.path.join(self.tmpdir, 'access.log')}"
[listeners.web]
bind = "127.0.0.1:{port}"
protocol = "{protocol}"
pool = "app"
[pools.app]
backends = [ {{ address = "127.0.0.1:{backend.port}" }} ]
"""
        self.start_ringlb(config, port,
                          env={"LD_PRELOAD": self.counter, "MALLOC_COUNTER_FILE": self.count_file})
        return port

    def run_requests(self, conn, count):
        for _ in range(count):
            response = conn.request("GET", "/", timeout=5)
            self.assertEqual(response.status, 200)

    def check_steady_state(self, protocol):
        port = self.start(protocol)
        conn = HttpConn(port, 5)
        self.addCleanup(conn.close)
        self.run_requests(conn, 500)  # warm-up: pools, buffers, log buffer reach their size
        before = self.allocations()
        self.run_requests(conn, REQUESTS)
        per_request = (self.allocations() - before) / REQUESTS
        print(f"{protocol}: {per_request:.4f} allocations per request", file=sys.stderr)
        self.assertLess(per_request, 0.01)

    def test_http_keep_alive_requests_allocate_nothing(self):
        self.check_steady_state("http")

    def test_l4_tunnel_traffic_allocates_nothing(self):
        self.check_steady_state("tcp")

    def test_h2_streams_allocate_a_bounded_number(self):
        port = self.start("http")
        client = H2Client(port)
        self.addCleanup(client.close)
        for _ in range(500):
            self.assertEqual(client.get("/", timeout=5).status, 200)
        before = self.allocations()
        for _ in range(REQUESTS):
            self.assertEqual(client.get("/", timeout=5).status, 200)
        per_stream = (self.allocations() - before) / REQUESTS
        print(f"h2: {per_stream:.2f} allocations per stream", file=sys.stderr)
        self.assertLess(per_stream, H2_CEILING)


if __name__ == "__main__":
    unittest.main()
