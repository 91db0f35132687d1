# Health checking through the real binary: HTTP backends whose /healthz a test flips, a closed
# port for the TCP check, passive ejection on real traffic, panic modes, slow start, and health
# that survives a reload. Intervals are ~100 ms so each test stays short.
import signal
import threading
import time
import unittest

from harness import HOST, free_port, runtime_user_lines, wait_until
from http_harness import HttpBackend, HttpConn, HttpTestCase, NoResponse

INTERVAL = 0.1  # seconds; the interval every test below configures
JITTER = 0.1


def health_config(port, backends, *, check="http", interval="100ms", timeout="100ms", rise=2,
                  fall=2, health_lines=(), pool_lines=(), passive_lines=None,
                  balance="round_robin", connect_timeout="300ms", log_level="info"):
    """One http listener on `port` in front of pool "app" with active checks (`check`), and
    optionally a [passive] section. `backends`: HttpBackend objects or plain ports."""
    addresses = [b if isinstance(b, int) else b.port for b in backends]
    listed = ", ".join(f'{{ address = "{HOST}:{p}" }}' for p in addresses)
    lines = [
        "[runtime]", "workers = 1", 'grace_period = "1s"', *runtime_user_lines(),
        "[log]", f'level = "{log_level}"', 'access = "off"',
        "[listeners.web]", f'bind = "{HOST}:{port}"', 'protocol = "http"', 'pool = "app"',
        "[pools.app]", f'balance = "{balance}"', f"backends = [ {listed} ]", *pool_lines,
        "[pools.app.timeouts]", f'connect = "{connect_timeout}"', 'response = "2s"',
    ]
    if check:
        lines += ["[pools.app.health]", f'check = "{check}"', f'interval = "{interval}"',
                  f'timeout = "{timeout}"', f"rise = {rise}", f"fall = {fall}", *health_lines]
    if passive_lines is not None:
        lines += ["[pools.app.passive]", *passive_lines]
    return "\n".join(lines) + "\n"


def served_by(port, count, timeout=3.0):
    """The X-Backend of `count` GETs on one keep-alive connection; 'status NNN' for answers the
    proxy gave itself."""
    names = []
    conn = HttpConn(port, timeout)
    try:
        for i in range(count):
            response = conn.request("GET", f"/r{i}")
            names.append(response.header("X-Backend") or f"status {response.status}")
            if response.closes:
                conn.close()
                conn = HttpConn(port, timeout)
    finally:
        conn.close()
    return names


class HealthTestCase(HttpTestCase):
    def start(self, backends, **options):
        port = free_port()
        self.start_ringlb(health_config(port, backends, **options), port)
        return port

    def wait_log(self, text, timeout=3.0, start=0):
        return self.ringlb.wait_for_log(text, timeout=timeout, start=start)

    def transition(self, backend, old, new):
        port = backend if isinstance(backend, int) else backend.port
        return f"backend {HOST}:{port} {old} -> {new}"


class ActiveHttpChecks(HealthTestCase):
    def test_failing_backend_gets_no_traffic_within_interval_times_fall_plus_timeout(self):
        a, b = self.backend(HttpBackend, "a"), self.backend(HttpBackend, "b")
        port = self.start([a, b])
        self.assertTrue(wait_until(lambda: b.health_checks >= 2, 2.0), "b is never checked")
        self.assertEqual(sorted(set(served_by(port, 4))), ["a", "b"])

        b.set_health(503)
        flipped = time.monotonic()
        # interval × fall + timeout, with the jitter on top of each interval.
        time.sleep(INTERVAL * (1 + JITTER) * 2 + 0.1)
        line = self.wait_log(self.transition(b, "up", "down"), timeout=1.0)
        self.assertIn("status 503 (2 failed checks in a row)", line)
        self.assertLess(time.monotonic() - flipped, 1.0)
        b.reset()
        self.assertEqual(served_by(port, 20), ["a"] * 20)
        self.assertEqual(b.requests, [])

    def test_it_returns_after_rise_passes(self):
        a, b = self.backend(HttpBackend, "a"), self.backend(HttpBackend, "b")
        port = self.start([a, b], rise=3, health_lines=['down_interval = "100ms"'])
        b.set_health(500)
        self.wait_log(self.transition(b, "up", "down"))
        mark = self.ringlb.log_size()
        checks_before = b.health_checks
        b.set_health(200)
        line = self.wait_log(self.transition(b, "down", "up"), start=mark)
        self.assertIn("(3 passed checks in a row)", line)
        self.assertGreaterEqual(b.health_checks - checks_before, 3)
        self.assertIn("b", served_by(port, 4))

    def test_body_substring_and_host_are_checked(self):
        a = self.backend(HttpBackend, "a")
        port = self.start([a], health_lines=['expect_body = "ready"', 'host = "health.local"'])
        a.set_health(200, b"warming up\n")
        line = self.wait_log(self.transition(a, "up", "down"))
        self.assertIn("body mismatch (status 200)", line)
        self.assertEqual(served_by(port, 1), ["status 503"])
        a.set_health(200, b"ready\n")
        self.wait_log(self.transition(a, "down", "up"))
        self.assertEqual(served_by(port, 1), ["a"])

    def test_unknown_initial_state_gets_no_traffic_before_its_first_pass(self):
        a, b = self.backend(HttpBackend, "a"), self.backend(HttpBackend, "b")
        b.set_health(503)
        port = self.start([a, b], interval="1s", timeout="200ms",
                          health_lines=['initial_state = "unknown"'])
        # Before its first pass a backend is not eligible: 503 (nothing else), never b.
        early = served_by(port, 6)
        self.assertTrue(set(early) <= {"status 503", "a"}, early)
        self.wait_log(self.transition(a, "unknown", "up"))
        self.wait_log(self.transition(b, "unknown", "down"))
        self.assertEqual(set(served_by(port, 10)), {"a"})
        self.assertEqual(b.requests, [])


class TcpChecks(HealthTestCase):
    def test_a_tcp_check_ejects_a_closed_port(self):
        live = self.backend(HttpBackend, "live")
        closed = free_port()
        started = time.monotonic()
        port = self.start([live, closed], check="tcp")
        line = self.wait_log(self.transition(closed, "up", "down"), timeout=2.0)
        self.assertIn("connect refused (first check)", line)
        # The first check comes within one interval; its connect is refused at once.
        self.assertLess(time.monotonic() - started, INTERVAL * (1 + JITTER) + 0.1 + 1.0)
        mark = self.ringlb.log_size()
        self.assertEqual(set(served_by(port, 20)), {"live"})
        time.sleep(0.1)
        self.assertNotIn(f"connect to {HOST}:{closed} failed", self.ringlb.log()[mark:])


class KillUnderLoad(HealthTestCase):
    def test_killing_a_backend_under_load_gives_zero_client_errors(self):
        backends = [self.backend(HttpBackend, name) for name in ("a", "b", "c")]
        port = self.start(backends, fall=2, passive_lines=["consecutive_failures = 2"])
        self.assertTrue(wait_until(lambda: all(b.health_checks for b in backends), 2.0))
        errors, answers = [], []
        stop = threading.Event()

        def load():
            while not stop.is_set():
                try:
                    with HttpConn(port, 3.0) as conn:
                        for i in range(50):
                            response = conn.request("GET", f"/load{i}")
                            answers.append(response.header("X-Backend"))
                            if response.status != 200:
                                errors.append(str(response))
                except (OSError, NoResponse) as e:
                    errors.append(repr(e))

        workers = [threading.Thread(target=load, daemon=True) for _ in range(2)]
        for worker in workers:
            worker.start()
        time.sleep(0.5)
        before = len(answers)
        backends[2].close()  # listener and every connection closed when it returns
        killed_at = len(answers)
        time.sleep(1.0)
        stop.set()
        for worker in workers:
            worker.join(timeout=5)
        self.assertEqual(errors, [])
        self.assertIn("c", answers[:before])
        self.assertGreater(len(answers) - killed_at, 50, "the load did not keep going")
        # Two clients: each may have had one answer from c on its way when the kill returned.
        self.assertNotIn("c", answers[killed_at + 2:])
        log = self.ringlb.log()
        self.assertRegex(log, rf"backend {HOST}:{backends[2].port} up -> (down|ejected)")


class Panic(HealthTestCase):
    def start_four(self, panic):
        backends = [self.backend(HttpBackend, name) for name in "abcd"]
        port = self.start(backends, fall=1, rise=1,
                          pool_lines=["panic_threshold_percent = 50", f'panic = "{panic}"'])
        return backends, port

    def fail_three(self, backends):
        for backend in backends[1:]:
            backend.set_health(503)
        for backend in backends[1:]:
            self.wait_log(self.transition(backend, "up", "down"))

    def test_panic_fail_answers_503_and_says_so(self):
        backends, port = self.start_four("fail")
        self.fail_three(backends)
        line = self.wait_log("pool app: entering panic")
        self.assertIn("1 of 4 backends eligible", line)
        self.assertIn('panic = "fail"', line)
        self.assertEqual(served_by(port, 4), ["status 503"] * 4)
        mark = self.ringlb.log_size()
        backends[1].set_health(200)
        self.wait_log("pool app: leaving panic: 2 of 4 backends eligible", start=mark)
        self.assertEqual(set(served_by(port, 4)), {"a", "b"})

    def test_panic_serve_all_sends_to_every_backend(self):
        backends, port = self.start_four("serve_all")
        self.fail_three(backends)
        line = self.wait_log("pool app: entering panic")
        self.assertIn('panic = "serve_all"', line)
        self.assertEqual(set(served_by(port, 8)), {"a", "b", "c", "d"})

    def test_no_threshold_means_no_panic(self):
        backends = [self.backend(HttpBackend, name) for name in "ab"]
        port = self.start(backends, fall=1)
        backends[1].set_health(503)
        self.wait_log(self.transition(backends[1], "up", "down"))
        self.assertEqual(set(served_by(port, 4)), {"a"})
        self.assertNotIn("panic", self.ringlb.log())


class SlowStart(HealthTestCase):
    def test_a_returning_backend_ramps_its_share(self):
        a, b = self.backend(HttpBackend, "a"), self.backend(HttpBackend, "b")
        port = self.start([a, b], fall=1, rise=1, pool_lines=['slow_start = "2s"'],
                          health_lines=['down_interval = "100ms"'])
        b.set_health(503)
        self.wait_log(self.transition(b, "up", "down"))
        mark = self.ringlb.log_size()
        b.set_health(200)
        self.wait_log(self.transition(b, "down", "up"), start=mark)
        came_back = time.monotonic()
        buckets = {}  # half-second bucket -> names
        with HttpConn(port, 3.0) as conn:
            while (elapsed := time.monotonic() - came_back) < 2.6:
                name = conn.request("GET", "/ramp").header("X-Backend")
                buckets.setdefault(int(elapsed / 0.5), []).append(name)
                time.sleep(0.002)

        def share(bucket):
            names = buckets.get(bucket, [])
            return names.count("b") / max(1, len(names))

        self.assertLess(share(0), 0.2, f"first half second: {share(0):.2f} to b")
        self.assertGreater(share(2), share(0))
        self.assertGreater(share(4), 0.4, f"after the ramp: {share(4):.2f} to b")


class SurvivesReload(HealthTestCase):
    def test_a_down_backend_stays_down_across_sighup(self):
        a, b = self.backend(HttpBackend, "a"), self.backend(HttpBackend, "b")
        port = free_port()
        text = health_config(port, [a, b], interval="500ms", timeout="200ms", fall=1)
        self.start_ringlb(text, port)
        b.set_health(503)
        self.wait_log(self.transition(b, "up", "down"), timeout=3.0)
        mark = self.ringlb.log_size()
        self.write_config(text.replace('level = "info"', 'level = "info"\nformat = "text"'))
        self.ringlb.send_signal(signal.SIGHUP)
        self.wait_log("configuration reloaded", start=mark)
        b.reset()
        self.assertEqual(set(served_by(port, 10)), {"a"})  # at once, before any new check
        self.assertEqual(b.requests, [])
        self.assertNotIn(self.transition(b, "down", "up"), self.ringlb.log()[mark:])

    def test_an_ejected_backend_stays_ejected_across_sighup(self):
        a, b = self.backend(HttpBackend, "a"), self.backend(HttpBackend, "b")
        port = free_port()
        text = health_config(port, [a, b], check=None, passive_lines=[
            "consecutive_failures = 2", "count_5xx = true", 'ejection_time = "30s"'])
        self.start_ringlb(text, port)
        b.forced_status = 500
        served_by(port, 6)
        self.wait_log(self.transition(b, "up", "ejected"))
        b.forced_status = None  # healthy again, but the ejection runs 30 s
        mark = self.ringlb.log_size()
        self.write_config(text + "\n# reloaded\n")
        self.ringlb.send_signal(signal.SIGHUP)
        self.wait_log("configuration reloaded", start=mark)
        b.reset()
        self.assertEqual(set(served_by(port, 10)), {"a"})
        self.assertEqual(b.requests, [])

    def test_a_backend_added_by_reload_follows_initial_state(self):
        a, b = self.backend(HttpBackend, "a"), self.backend(HttpBackend, "b")
        b.set_health(503)
        port = free_port()
        options = dict(interval="1s", timeout="200ms",
                       health_lines=['initial_state = "unknown"'])
        self.start_ringlb(health_config(port, [a], **options), port)
        self.wait_log(self.transition(a, "unknown", "up"), timeout=3.0)
        mark = self.ringlb.log_size()
        self.write_config(health_config(port, [a, b], **options))
        self.ringlb.send_signal(signal.SIGHUP)
        self.wait_log("configuration reloaded", start=mark)
        self.assertEqual(set(served_by(port, 10)), {"a"})  # b is unknown: no traffic
        self.wait_log(self.transition(b, "unknown", "down"), start=mark, timeout=3.0)
        self.assertEqual(b.requests, [])


if __name__ == "__main__":
    unittest.main()
