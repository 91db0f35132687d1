# Stopping and reloading with clients connected, as nginx and HAProxy do it: on SIGTERM an idle
# keep-alive connection is closed at once, a request in flight is answered with
# `Connection: close`, and ringlb exits as soon as the last one is done, long before
# grace_period. A reload that removes a listener drains that listener's connections the same
# way. Plus the small contract gaps found beside it: HTTP/1.0 keep-alive is echoed, `[::]:PORT`
# is dual-stack unless `v6only = true` (and --check's overlap rule agrees), and the start-up
# line counts "1 worker".
import os
import signal
import socket
import tempfile
import time
import unittest

from harness import HOST, free_port, run_ringlb, wait_until
from http_harness import HttpBackend, HttpConn, HttpTestCase, http_config
from test_tls_http import HttpsConn, tls_section
from tls_harness import Pki, client_context, have_openssl

GRACE = "20s"  # far longer than any test waits: an exit before it is the drain working
PROMPT = 3.0  # seconds within which "at once" must have happened on a loaded 2-core machine


def have_ipv6() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


class Ipv6Conn(HttpConn):
    """HttpConn to [::1]:port."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection(("::1", port), timeout=timeout)
        self.buf = bytearray()
        self.eof = False


def second_listener(name: str, bind: str, pool: str = "app", extra: str = "") -> str:
    return f'\n[listeners.{name}]\nbind = "{bind}"\nprotocol = "http"\npool = "{pool}"\n{extra}'


class StopDrainTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "app")

    def start(self, **options) -> int:
        return self.start_http([self.app.port], grace=GRACE, **options)

    def keep_alive_conn(self, port: int) -> HttpConn:
        """A client connection that has had one keep-alive request answered and now idles."""
        conn = self.conn(port)
        response = conn.request("GET", "/first")
        self.assertEqual(response.status, 200)
        self.assertFalse(response.closes, f"the first response closes: {response}")
        return conn

    def assertExitsPromptly(self, since: float, within: float = PROMPT):
        self.assertExits(0, within=max(0.5, since + within - time.monotonic()))
        self.assertLess(time.monotonic() - since, within,
                        "ringlb waited for grace_period instead of exiting once drained")

    def test_idle_keep_alive_connection_is_closed_at_once_and_ringlb_exits(self):
        port = self.start()
        conn = self.keep_alive_conn(port)
        stop_sent = time.monotonic()
        self.ringlb.send_signal(signal.SIGTERM)
        rest, how = conn.read_until_closed(PROMPT)
        self.assertNotEqual(how, "timeout", f"the idle keep-alive connection is still open "
                                            f"{PROMPT} s after SIGTERM")
        self.assertEqual(rest, b"")
        self.assertExitsPromptly(stop_sent)

    def test_second_request_after_sigterm_is_not_served_on_the_idle_connection(self):
        # The repro: a request 0.5 s after SIGTERM on a connection that was idle.
        port = self.start()
        conn = self.keep_alive_conn(port)
        stop_sent = time.monotonic()
        self.ringlb.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        conn.try_send(b"GET /second HTTP/1.1\r\nHost: test.local\r\n\r\n")
        data, how = conn.read_until_closed(PROMPT)
        self.assertEqual(data, b"", "a request sent after SIGTERM on an idle connection was "
                                    "served")
        self.assertNotEqual(how, "timeout")
        self.assertNotIn("/second", self.app.targets())
        self.assertExitsPromptly(stop_sent)

    def test_request_in_flight_finishes_with_connection_close_then_ringlb_exits(self):
        port = self.start()
        idle = self.keep_alive_conn(port)
        busy = self.conn(port)
        busy.send(b"GET /delay/1500 HTTP/1.1\r\nHost: test.local\r\n\r\n")
        self.assertTrue(wait_until(lambda: "/delay/1500" in self.app.targets(), 3.0))
        stop_sent = time.monotonic()
        self.ringlb.send_signal(signal.SIGTERM)
        self.assertTrue(idle.closed_within(1.0),
                        "the idle connection stayed open while another request was in flight")
        self.assertTrue(self.ringlb.alive(), "ringlb exited with a request in flight")
        response = busy.read_response(timeout=5)
        answered = time.monotonic()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, b"app GET /delay/1500\n")
        self.assertTrue(response.closes,
                        f"the response finished during the stop lacks Connection: close: "
                        f"{response.headers}")
        self.assertTrue(busy.closed_within(1.0), "connection open after its last response")
        self.assertExitsPromptly(answered, within=2.0)
        self.assertLess(answered - stop_sent, 3.0)

    def test_response_under_way_completes_and_the_connection_then_closes(self):
        # The head went out (keep-alive) before SIGTERM; the body keeps coming, then the end.
        port = self.start()
        conn = self.conn(port)
        conn.send(b"GET /drip/15/100 HTTP/1.1\r\nHost: test.local\r\n\r\n")
        deadline = time.monotonic() + 5
        head = conn.read_head(deadline)
        self.assertEqual(head.status, 200)
        self.ringlb.send_signal(signal.SIGTERM)
        body = bytearray()
        conn._read_exact(1500, deadline, body.extend)
        self.assertEqual(bytes(body), b"d" * 1500)
        self.assertTrue(conn.closed_within(2.0), "connection still open after the response")
        self.assertExits(0, within=PROMPT)

    def test_pipelined_request_already_received_is_answered_with_close(self):
        # The first response's head (keep-alive) is out before SIGTERM; the second request
        # came in the same packet, so it is under way: answered, with Connection: close.
        port = self.start()
        conn = self.conn(port)
        conn.send(b"GET /drip/10/100 HTTP/1.1\r\nHost: test.local\r\n\r\n"
                  b"GET /second HTTP/1.1\r\nHost: test.local\r\n\r\n")
        deadline = time.monotonic() + 5
        self.assertEqual(conn.read_head(deadline).status, 200)
        self.ringlb.send_signal(signal.SIGTERM)
        conn._read_exact(1000, deadline, lambda piece: None)
        second = conn.read_response(timeout=5)
        self.assertEqual(second.body, b"app GET /second\n")
        self.assertTrue(second.closes, f"no Connection: close: {second.headers}")
        self.assertTrue(conn.closed_within(1.0))
        self.assertExits(0, within=PROMPT)

    def test_silent_new_connection_is_closed_and_a_partial_head_is_answered(self):
        port = self.start()
        silent = self.conn(port)
        partial = self.conn(port)
        partial.send(b"GET /partial HTTP/1.1\r\nHost: test.local\r\n")
        time.sleep(0.2)  # the first bytes are in before the stop
        self.ringlb.send_signal(signal.SIGTERM)
        self.assertTrue(silent.closed_within(PROMPT), "a connection that sent nothing stays open")
        partial.send(b"\r\n")
        response = partial.read_response(timeout=5)
        self.assertEqual(response.body, b"app GET /partial\n")
        self.assertTrue(response.closes, f"no Connection: close: {response.headers}")
        self.assertExits(0, within=PROMPT)

    def test_websocket_tunnel_is_not_cut_by_the_drain(self):
        # Like an L4 tunnel (test_signals), an upgraded connection cannot be seen to be idle:
        # it runs until it ends or grace_period.
        port = self.start()
        conn = self.conn(port)
        conn.send(b"GET /ws HTTP/1.1\r\nHost: test.local\r\nConnection: Upgrade\r\n"
                  b"Upgrade: websocket\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n"
                  b"\r\n")
        self.assertEqual(conn.read_response(timeout=5).status, 101)
        self.ringlb.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        conn.send(b"still here")
        deadline = time.monotonic() + 3
        while b"still here" not in conn.buf:
            self.assertTrue(conn._fill(deadline), "the tunnel was closed by the stop")
        self.assertTrue(self.ringlb.alive())
        conn.close()
        self.assertExits(0, within=PROMPT)


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class TlsStopDrainTest(HttpTestCase):
    def test_idle_tls_keep_alive_connection_is_closed_at_once(self):
        pki = Pki(os.path.join(self.tmpdir, "pki"))
        leaf = pki.leaf("a", ["a.test"])
        app = self.backend(HttpBackend, "app")
        port = free_port()
        config = http_config(port, [app.port], grace=GRACE) + tls_section("web", [leaf])
        self.start_ringlb(config, port)
        conn = HttpsConn(port, client_context(pki), timeout=5)
        self.addCleanup(conn.close)
        self.assertEqual(conn.request("GET", "/first").status, 200)
        stop_sent = time.monotonic()
        self.ringlb.send_signal(signal.SIGTERM)
        rest, how = conn.read_until_closed(PROMPT)
        self.assertEqual((rest, how), (b"", "eof"),
                         f"the idle TLS connection was not closed within {PROMPT} s")
        self.assertExits(0, within=max(0.5, stop_sent + PROMPT - time.monotonic()))


class ReloadDrainTest(HttpTestCase):
    def test_removed_listener_closes_its_idle_connection_and_finishes_its_busy_one(self):
        app = self.backend(HttpBackend, "app")
        kept_port, removed_port = free_port(), free_port()
        base = http_config(kept_port, [app.port], grace=GRACE)
        self.start_ringlb(base + second_listener("old", f"{HOST}:{removed_port}"), kept_port)
        kept = self.conn(kept_port)
        self.assertEqual(kept.request("GET", "/kept").status, 200)
        idle = self.conn(removed_port)
        self.assertEqual(idle.request("GET", "/idle").status, 200)
        busy = self.conn(removed_port)
        busy.send(b"GET /delay/1500 HTTP/1.1\r\nHost: test.local\r\n\r\n")
        self.assertTrue(wait_until(lambda: "/delay/1500" in app.targets(), 3.0))

        self.write_config(base)
        mark = self.ringlb.log_size()
        self.ringlb.send_signal(signal.SIGHUP)
        self.ringlb.wait_for_log("configuration reloaded", timeout=5, start=mark)

        self.assertTrue(idle.closed_within(PROMPT),
                        "the idle connection of the removed listener is still open")
        response = busy.read_response(timeout=5)
        self.assertEqual(response.status, 200)
        self.assertTrue(response.closes, f"no Connection: close on the removed listener's "
                                         f"last response: {response.headers}")
        self.assertTrue(busy.closed_within(1.0))
        # Any reload drains every HTTP connection (test_faults_reload): the kept listener's
        # idle one too; a new connection to it is served.
        self.assertTrue(kept.closed_within(PROMPT))
        self.assertEqual(self.conn(kept_port).request("GET", "/kept-again").status, 200)
        self.assertTrue(self.ringlb.alive())


class Http10KeepAliveTest(HttpTestCase):
    def test_http10_client_kept_alive_is_told_so(self):
        app = self.backend(HttpBackend, "app")
        port = self.start_http([app.port])
        conn = self.conn(port)
        for target in ("/one", "/two"):
            conn.send(f"GET {target} HTTP/1.0\r\nHost: test.local\r\n"
                      f"Connection: keep-alive\r\n\r\n".encode())
            response = conn.read_response(timeout=5)
            self.assertEqual(response.status, 200)
            self.assertEqual(response.body, f"app GET {target}\n".encode())
            self.assertIn("keep-alive", response.tokens("Connection"),
                          f"an HTTP/1.0 client kept alive must be told (RFC 9112 9.3): "
                          f"{response.headers}")
        self.assertEqual(app.connections, 1)

    def test_http10_without_keep_alive_gets_close_and_http11_gets_neither(self):
        app = self.backend(HttpBackend, "app")
        port = self.start_http([app.port])
        conn = self.conn(port)
        conn.send(b"GET /old HTTP/1.0\r\nHost: test.local\r\n\r\n")
        response = conn.read_response(timeout=5)
        self.assertTrue(response.closes, response.headers)
        self.assertTrue(conn.closed_within(2.0))
        modern = self.conn(port)
        response = modern.request("GET", "/new")
        self.assertEqual(response.tokens("Connection"), [], response.headers)


class StartLineTest(HttpTestCase):
    def test_one_worker_is_singular(self):
        app = self.backend(HttpBackend, "app")
        self.start_http([app.port], workers=1)
        line = self.ringlb.wait_for_log("ringlb started")
        self.assertIn("1 worker, 1 listener, 1 pool,", line)


@unittest.skipUnless(have_ipv6(), "this machine has no IPv6 loopback")
class DualStackTest(HttpTestCase):
    def start_on(self, bind: str, extra: str = "", more: str = "", pools=None) -> int:
        self.app = self.backend(HttpBackend, "app")
        port = free_port()
        config = http_config(port, pools(self.app) if pools else [self.app.port])
        config = config.replace(f'bind = "{HOST}:{port}"', f'bind = "{bind.format(port=port)}"'
                                + ("\n" + extra if extra else ""))
        self.start_ringlb(config + more.format(port=port), port)
        return port

    def test_default_ipv6_wildcard_takes_ipv4_clients_too(self):
        port = self.start_on("[::]:{port}")
        v4 = self.conn(port)
        self.assertEqual(v4.request("GET", "/v4").status, 200)
        v6 = Ipv6Conn(port)
        self.addCleanup(v6.close)
        self.assertEqual(v6.request("GET", "/v6").status, 200)

    def test_v6only_refuses_ipv4_and_shares_the_port_with_an_ipv4_listener(self):
        other = self.backend(HttpBackend, "other")
        port = self.start_on(
            "[::]:{port}", "v6only = true",
            more=second_listener("v4", "127.0.0.1:{port}", pool="v4pool"),
            pools=lambda app: {"app": [app.port], "v4pool": [other.port]})
        v6 = Ipv6Conn(port)
        self.addCleanup(v6.close)
        self.assertEqual(v6.request("GET", "/v6").body, b"app GET /v6\n")
        v4 = self.conn(port)
        self.assertEqual(v4.request("GET", "/v4").body, b"other GET /v4\n",
                         "an IPv4 client reached the v6only listener")

    def test_v6only_alone_refuses_ipv4(self):
        port = self.start_on("[::]:{port}", "v6only = true")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((HOST, port), timeout=2).close()


class CheckDualStackTest(unittest.TestCase):
    """--check's overlap rule follows v6only; it needs no IPv6 on the machine."""

    def setUp(self):
        if not os.environ.get("RINGLB_BIN"):
            self.skipTest("RINGLB_BIN is not set")
        tmp = tempfile.TemporaryDirectory(prefix="ringlb-it-")
        self.addCleanup(tmp.cleanup)
        self.tmpdir = tmp.name

    def check(self, first: str, second: str, first_extra: str = "", second_extra: str = ""):
        port = 18080
        config = http_config(port, [9001]).replace(
            f'bind = "{HOST}:{port}"', f'bind = "{first}"\n{first_extra}')
        config += second_listener("two", second, extra=second_extra)
        path = os.path.join(self.tmpdir, "check.toml")
        with open(path, "w") as f:
            f.write(config)
        result = run_ringlb("--check", "-c", path)
        return result.returncode, result.stdout + result.stderr

    def test_ipv4_wildcard_and_dual_stack_wildcard_conflict(self):
        code, out = self.check("0.0.0.0:8080", "[::]:8080")
        self.assertEqual(code, 1, out)
        self.assertIn("v6only", out, "the conflict message does not say how to resolve it")

    def test_ipv4_wildcard_and_v6only_wildcard_share_the_port(self):
        code, out = self.check("0.0.0.0:8080", "[::]:8080", second_extra="v6only = true")
        self.assertEqual((code, out.strip()), (0, "configuration OK"))

    def test_ipv6_binds_conflict_whatever_v6only(self):
        code, out = self.check("[::]:8080", "[::1]:8080", first_extra="v6only = true",
                               second_extra="v6only = true")
        self.assertEqual(code, 1, out)
        self.assertIn("conflicts with listener 'web'", out)

    def test_ipv4_mapped_bind_conflicts_with_its_ipv4_address_and_needs_dual_stack(self):
        code, out = self.check("127.0.0.1:8080", "[::ffff:127.0.0.1]:8080")
        self.assertEqual(code, 1, out)
        self.assertIn("conflicts with listener 'web'", out)
        code, out = self.check("127.0.0.2:8080", "[::ffff:127.0.0.1]:8080",
                               second_extra="v6only = true")
        self.assertEqual(code, 1, out)
        self.assertIn("IPv4-mapped", out)

    def test_v6only_on_an_ipv4_bind_is_a_warning(self):
        code, out = self.check("127.0.0.1:8080", "127.0.0.1:8081", second_extra="v6only = true")
        self.assertEqual(code, 0, out)
        self.assertIn("v6only is ignored unless bind is an IPv6 address", out)


if __name__ == "__main__":
    unittest.main()
