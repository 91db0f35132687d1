# A reload reaches every connection. A keep-alive client keeps the snapshot it connected with,
# so after a reload that removes its pool it would still reach the removed backend, which no
# health check watches any more. Any reload drains every HTTP connection as a stop does: an idle
# one is closed at once, a request in flight is answered with `Connection: close`, a connection
# still waiting for its first request answers it with close. Tunnels
# (websockets, tcp listeners) are not cut. An admin weight change is not a reload: it drains
# nothing.
import signal
import time
import unittest

from harness import HOST, free_port, wait_until
from http_harness import HttpBackend, HttpTestCase, http_config
from test_admin import Admin

GRACE = "20s"  # far longer than any test waits
PROMPT = 3.0  # seconds within which "at once" must have happened on a loaded 2-core machine


class ReloadDrainsKeepAliveTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.a = self.backend(HttpBackend, "a")
        self.b = self.backend(HttpBackend, "b")
        self.port = free_port()
        # The listener's pool is A; the reload moves it to B and removes A.
        self.before = http_config(self.port, {"A": [self.a.port]}, grace=GRACE)
        self.after = http_config(self.port, {"B": [self.b.port]}, grace=GRACE)
        self.start_ringlb(self.before, self.port)

    def keep_alive_conn(self):
        conn = self.conn(self.port)
        response = conn.request("GET", "/first")
        self.assertEqual(response.body, b"a GET /first\n")
        self.assertFalse(response.closes, f"the first response closes: {response}")
        return conn

    def reload(self, text: str):
        self.write_config(text)
        mark = self.ringlb.log_size()
        self.ringlb.send_signal(signal.SIGHUP)
        self.ringlb.wait_for_log("configuration reloaded", timeout=5, start=mark)

    def test_next_request_on_a_kept_alive_connection_does_not_reach_the_removed_pool(self):
        conn = self.keep_alive_conn()
        self.reload(self.after)
        time.sleep(0.5)  # the client's next request comes a little after the reload
        conn.try_send(b"GET /second HTTP/1.1\r\nHost: test.local\r\n\r\n")
        data, how = conn.read_until_closed(PROMPT)
        self.assertNotIn("/second", self.a.targets(),
                         f"a request after the reload reached the removed pool's backend: "
                         f"{data[:200]!r}")
        self.assertEqual(data, b"", "the stale connection answered a request after the reload")
        self.assertNotEqual(how, "timeout", "the stale connection is still open")
        # The client reconnects, as clients do on a closed keep-alive connection, and reaches B.
        retry = self.conn(self.port).request("GET", "/second")
        self.assertEqual(retry.body, b"b GET /second\n")
        self.assertFalse(retry.closes, "a connection made after the reload is drained too")

    def test_idle_keep_alive_connection_is_closed_promptly(self):
        conn = self.keep_alive_conn()
        reloaded = time.monotonic()
        self.reload(self.after)
        rest, how = conn.read_until_closed(PROMPT)
        self.assertEqual((rest, how), (b"", "eof"),
                         f"the idle keep-alive connection is still open {PROMPT} s after the "
                         f"reload")
        self.assertLess(time.monotonic() - reloaded, PROMPT + 1)
        self.assertTrue(self.ringlb.alive())

    def test_any_reload_drains_even_an_unchanged_file(self):
        # The rule operators expect from nginx and HAProxy: a reload ends every keep-alive
        # connection after its current response, whatever changed.
        conn = self.keep_alive_conn()
        self.reload(self.before)
        self.assertTrue(conn.closed_within(PROMPT), "an idle connection survived a reload")
        self.assertEqual(self.conn(self.port).request("GET", "/again").body, b"a GET /again\n")

    def test_request_in_flight_completes_with_connection_close(self):
        idle = self.keep_alive_conn()
        busy = self.conn(self.port)
        busy.send(b"GET /delay/1500 HTTP/1.1\r\nHost: test.local\r\n\r\n")
        self.assertTrue(wait_until(lambda: "/delay/1500" in self.a.targets(), 3.0))
        self.reload(self.after)
        self.assertTrue(idle.closed_within(PROMPT), "the idle connection stayed open")
        response = busy.read_response(timeout=5)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, b"a GET /delay/1500\n")
        self.assertTrue(response.closes, f"the response finished across the reload lacks "
                                         f"Connection: close: {response.headers}")
        self.assertTrue(busy.closed_within(1.0), "connection open after its last response")
        self.assertEqual(self.conn(self.port).request("GET", "/next").body, b"b GET /next\n")

    def test_connection_without_a_request_yet_is_answered_with_close(self):
        # Just accepted, its client is likely sending its first request now: closing it would
        # race that send, which clients do not retry. Its one request is answered, with close.
        silent = self.conn(self.port)
        time.sleep(0.2)  # accepted before the reload
        self.reload(self.after)
        time.sleep(0.3)
        response = silent.request("GET", "/late-first")
        self.assertEqual(response.status, 200)
        self.assertTrue(response.closes, f"no Connection: close: {response.headers}")
        self.assertTrue(silent.closed_within(1.0))

    def test_websocket_tunnel_is_not_cut_by_a_reload(self):
        conn = self.conn(self.port)
        conn.send(b"GET /ws HTTP/1.1\r\nHost: test.local\r\nConnection: Upgrade\r\n"
                  b"Upgrade: websocket\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n"
                  b"\r\n")
        self.assertEqual(conn.read_response(timeout=5).status, 101)
        self.reload(self.after)
        time.sleep(0.5)
        conn.send(b"still here")
        deadline = time.monotonic() + 3
        while b"still here" not in conn.buf:
            self.assertTrue(conn._fill(deadline), "the tunnel was closed by the reload")


class AdminWeightDoesNotDrainTest(HttpTestCase):
    def test_weight_change_keeps_keep_alive_connections(self):
        a = self.backend(HttpBackend, "a")
        port, admin_port = free_port(), free_port()
        admin_section = f'\n[admin]\nlisten = "{HOST}:{admin_port}"\n'
        self.start_ringlb(http_config(port, [a.port], grace=GRACE) + admin_section, port)
        conn = self.conn(port)
        self.assertFalse(conn.request("GET", "/first").closes)
        admin = Admin(admin_port)
        self.assertTrue(wait_until(lambda: self._answers(admin), 5), self.ringlb.log_tail())
        code, body = admin.control("app", f"{HOST}:{a.port}", "weight", "value=3")
        self.assertEqual((code, body["weight"]), (200, 3))
        time.sleep(0.3)
        response = conn.request("GET", "/second")
        self.assertEqual(response.body, b"a GET /second\n")
        self.assertFalse(response.closes, "an admin weight change drained a keep-alive connection")

    @staticmethod
    def _answers(admin) -> bool:
        try:
            admin.request("GET", "/ready")
            return True
        except OSError:
            return False


if __name__ == "__main__":
    unittest.main()
