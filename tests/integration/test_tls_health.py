# Active health checks on a TLS pool ([pools.NAME.tls] with [pools.NAME.health]): the http check
# runs over a verified TLS connection to Python TLS backends and brings them up; a backend whose
# check answers 500, or whose certificate stops verifying (another CA), goes down and gets no
# more traffic, and comes back when it is fixed. Intervals are 100 ms, so each test takes ~1 s.
import os
import unittest

from harness import free_port, run_ringlb, wait_until
from test_health import HealthTestCase, health_config, served_by
from test_tls_backend import TlsHttpBackend, pool_tls_section
from tls_harness import Pki, have_openssl, server_context


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class TlsHealthChecks(HealthTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.good = server_context(*self.pki.leaf("app", ["app.internal"]))
        self.a = self.backend(TlsHttpBackend, "a", self.good)
        self.b = self.backend(TlsHttpBackend, "b", self.good)

    def start_checked(self, check="http"):
        """ringlb with both backends in a TLS pool (verified against the test CA, SNI
        app.internal) checked every 100 ms, starting `unknown` so that only a passing check lets
        a backend take traffic; returns the listener's port."""
        port = free_port()
        config = health_config(port, [self.a, self.b], check=check,
                               health_lines=['initial_state = "unknown"'])
        config += pool_tls_section("app", self.pki.ca, "app.internal")
        self.config_path = self.write_config(config)
        self.start_ringlb(config, port)
        return port

    def wait_up(self, backend):
        return self.wait_log(self.transition(backend, "unknown", "up"))

    def test_the_file_passes_check(self):
        self.start_checked()
        result = run_ringlb("--check", "-c", self.config_path)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("configuration OK", result.stdout + result.stderr)

    def test_http_check_over_tls_brings_backends_up_and_a_500_takes_one_out(self):
        port = self.start_checked()
        for backend in (self.a, self.b):
            self.assertIn("check passed (status 200)", self.wait_up(backend))
        # The checks arrived over TLS: a plain request could not get past the handshake.
        self.assertGreater(self.b.handshakes, 0)
        self.assertGreater(self.b.health_checks, 0)
        self.assertEqual(sorted(set(served_by(port, 4))), ["a", "b"])

        self.b.set_health(500)
        line = self.wait_log(self.transition(self.b, "up", "down"))
        self.assertIn("status 500", line)
        self.b.reset()
        self.assertEqual(served_by(port, 6), ["a"] * 6)
        self.assertEqual(len(self.b.requests), 0)

    def test_a_certificate_that_stops_verifying_takes_the_backend_out_until_fixed(self):
        port = self.start_checked()
        self.wait_up(self.a)
        self.wait_up(self.b)
        start = len(self.ringlb.log())

        stranger = Pki(os.path.join(self.tmpdir, "other-ca"))
        self.b.tls_context = server_context(*stranger.leaf("app", ["app.internal"]))
        warning = self.wait_log("health check: TLS handshake failed", start=start)
        self.assertIn(f"backend {self.b.address}", warning)
        self.assertIn("certificate verify failed", warning)
        self.wait_log(self.transition(self.b, "up", "down"), start=start)
        self.b.reset()
        self.assertEqual(served_by(port, 6), ["a"] * 6)
        self.assertEqual(len(self.b.requests), 0)

        self.b.tls_context = self.good
        line = self.wait_log(self.transition(self.b, "down", "up"), start=start)
        self.assertIn("check passed (status 200)", line)
        self.assertTrue(wait_until(lambda: "b" in served_by(port, 4), 3.0))

    def test_tcp_check_completes_a_verified_handshake(self):
        port = self.start_checked(check="tcp")
        self.wait_up(self.a)
        self.wait_up(self.b)
        self.assertGreater(self.b.handshakes, 0)
        start = len(self.ringlb.log())
        stranger = Pki(os.path.join(self.tmpdir, "other-ca"))
        self.b.tls_context = server_context(*stranger.leaf("app", ["app.internal"]))
        self.wait_log(self.transition(self.b, "up", "down"), start=start)
        self.assertIn("certificate verify failed",
                      self.wait_log("health check: TLS handshake failed", start=start))
        self.assertEqual(served_by(port, 4), ["a"] * 4)


if __name__ == "__main__":
    unittest.main()
