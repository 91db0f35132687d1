# Failing backends and hostile or idle clients: reset/close/garbage -> 502, hang -> 504 within the
# response timeout, close mid-body -> the client's response is cut short (never completed), no
# reachable backend -> 503, the client-side timeouts: header (408, slowloris) and keep-alive idle,
# and running out of file descriptors.
import os
import resource
import selectors
import socket
import threading
import time
import unittest

from harness import BlackholeListener, free_port, wait_until
from http_harness import (FaultBackend, HttpBackend, HttpConn, HttpTestCase, IncompleteResponse,
                          build_request, get)


class BackendFaultTest(HttpTestCase):
    def proxy_to(self, server, **options) -> int:
        return self.start_http([server.port], **options)

    def assertAnswered(self, port: int, status: int, what: str, method: str = "GET",
                       within: float = 3.0):
        start = time.monotonic()
        with HttpConn(port, timeout=within + 2) as conn:
            conn.send(build_request(method, "/fault", body=b"x" if method == "POST" else b""))
            response = conn.read_response()
            elapsed = time.monotonic() - start
            self.assertProxyError(response, status, what)
            self.assertTrue(conn.closed_within(2), f"{what}: client connection left open")
        return elapsed

    def test_reset_before_response_is_502(self):
        fault = self.backend(FaultBackend, "reset")
        port = self.proxy_to(fault)
        self.assertAnswered(port, 502, "backend reset")
        self.assertAnswered(port, 502, "backend reset", method="POST")

    def test_close_before_response_is_502(self):
        fault = self.backend(FaultBackend, "close")
        self.assertAnswered(self.proxy_to(fault), 502, "backend closed without answering")

    def test_garbage_is_502_and_that_connection_is_dropped(self):
        fault = self.backend(FaultBackend, "raw", b"SSH-2.0-OpenSSH_9.2\r\nthis is not http\r\n\r\n",
                            "hold")
        port = self.proxy_to(fault)
        self.assertAnswered(port, 502, "backend sent garbage")
        self.assertTrue(wait_until(lambda: fault.peer_closed == 1, 2),
                        "the upstream connection that sent garbage is still open")
        self.assertAnswered(port, 502, "backend sent garbage (second time)")
        self.assertEqual(fault.connections, 2, "a connection that sent garbage was reused")

    def test_hang_is_504_within_the_response_timeout(self):
        fault = self.backend(FaultBackend, "hang")
        port = self.proxy_to(fault, response_timeout="1s")
        elapsed = self.assertAnswered(port, 504, "backend never answered")
        self.assertGreaterEqual(elapsed, 0.9, "504 before the response timeout")
        self.assertLess(elapsed, 2.0, "504 long after the 1 s response timeout")
        self.assertTrue(wait_until(lambda: fault.peer_closed == 1, 2),
                        "the hung upstream connection was not closed")
        self.assertEqual(len(fault.heads), 1, "the timed-out request was sent again")

    def test_response_timeout_covers_the_head_only(self):
        """Head at once, then a body dripping over 2 s: not a 504 with response = 1s."""
        backend = self.backend(HttpBackend, "drip")
        port = self.start_http([backend.port], response_timeout="1s")
        response = get(port, "/drip/5/400", timeout=6)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, b"d" * 500)

    def test_close_mid_body_aborts_the_client_response(self):
        raw = (b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nContent-Type: x/y\r\n\r\n"
               + b"p" * 100_000)
        fault = self.backend(FaultBackend, "raw", raw, "close")
        port = self.proxy_to(fault)
        with HttpConn(port) as conn:
            conn.send(build_request("GET", "/big"))
            with self.assertRaises(IncompleteResponse, msg="response completed") as caught:
                conn.read_response(timeout=5)
        cut = caught.exception.response
        self.assertEqual(cut.status, 200)
        self.assertLess(cut.body_len, 1_000_000)
        self.assertTrue(self.ringlb.alive())

    def test_close_mid_chunked_body_aborts_the_client_response(self):
        raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n" + b"10000\r\n" + b"q" * 65536 + b"\r\n")
        fault = self.backend(FaultBackend, "raw", raw, "close")
        port = self.proxy_to(fault)
        with HttpConn(port) as conn:
            conn.send(build_request("GET", "/big"))
            with self.assertRaises(IncompleteResponse,
                                   msg="a cut chunked body was completed (last chunk forged)"):
                conn.read_response(timeout=5)

    def test_only_backend_refusing_is_503(self):
        port = self.start_http([free_port()])
        elapsed = self.assertAnswered(port, 503, "no backend accepts connections")
        self.assertLess(elapsed, 1.5)

    def test_every_backend_refusing_is_503(self):
        port = self.start_http([free_port(), free_port(), free_port()])
        for _ in range(3):
            self.assertAnswered(port, 503, "no backend accepts connections")

    def test_connect_timeout_on_the_only_backend(self):
        hole = BlackholeListener()
        self.addCleanup(hole.close)
        port = self.start_http([hole.port], connect_timeout="300ms")
        elapsed = self.assertAnswered(port, (503, 504), "the only backend never accepts")
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 2.0)


class HeaderTimeoutTest(HttpTestCase):
    def test_partial_head_gets_408_after_the_header_timeout(self):
        backend = self.backend(HttpBackend, "b")
        port = self.start_http([backend.port], header_timeout="1s")
        with HttpConn(port, timeout=5) as conn:
            start = time.monotonic()
            conn.send(b"GET /partial HTTP/1.1\r\nHost: test.local\r\nX-Half: ")
            response = conn.read_response()
            elapsed = time.monotonic() - start
            self.assertProxyError(response, 408, "incomplete head")
            self.assertTrue(conn.closed_within(2))
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 2.0)
        self.assertBackendGotNothing(backend)

    def test_header_timeout_is_for_the_whole_head_not_per_byte(self):
        """A byte every 250 ms would keep resetting a per-read timer forever."""
        backend = self.backend(HttpBackend, "b")
        port = self.start_http([backend.port], header_timeout="1s")
        with HttpConn(port, timeout=5) as conn:
            start = time.monotonic()
            conn.send(b"GET / HTTP/1.1\r\n")
            closed = None
            while closed is None and time.monotonic() - start < 4.0:
                failed = conn.try_send(b"X")
                _, how = conn.read_until_closed(0.25)
                if failed is not None or how != "timeout":
                    closed = time.monotonic() - start
        self.assertIsNotNone(closed, "a head trickling in byte by byte was never cut off")
        self.assertLess(closed, 2.3, "cut off long after the 1 s header timeout")
        self.assertBackendGotNothing(backend)

    def test_slowloris_200_slow_clients_do_not_delay_a_normal_one_and_are_all_closed(self):
        backend = self.backend(HttpBackend, "b")
        port = self.start_http([backend.port], header_timeout="2s")
        slow = SlowClients(port, 200, interval=0.5)
        self.addCleanup(slow.close)
        normal = {}

        def normal_request():
            time.sleep(1.0)
            start = time.monotonic()
            try:
                normal["response"] = get(port, "/normal", timeout=3)
            except Exception as e:  # reported below
                normal["error"] = e
            normal["elapsed"] = time.monotonic() - start

        thread = threading.Thread(target=normal_request, daemon=True)
        thread.start()
        slow.run(limit=6.0)
        thread.join(5)
        self.assertNotIn("error", normal, f"normal request failed: {normal.get('error')}")
        self.assertEqual(normal["response"].status, 200)
        self.assertLess(normal["elapsed"], 0.5, "slow clients delayed a normal request")
        open_ones = [c for c in slow.clients if c.closed_after is None]
        self.assertEqual(len(open_ones), 0, f"{len(open_ones)} slow clients still open after 6 s")
        latest = max(c.closed_after for c in slow.clients)
        earliest = min(c.closed_after for c in slow.clients)
        self.assertLessEqual(latest, 3.0, "slow clients outlived header timeout + 1 s")
        self.assertGreaterEqual(earliest, 1.5, "slow clients closed long before the timeout")
        answers = {bytes(c.data[:12]) for c in slow.clients if c.data}
        self.assertLessEqual(answers, {b"HTTP/1.1 408"}, f"slow clients got {answers}")
        self.assertEqual(backend.targets(), ["/normal"], "a slow client's head reached the backend")


class SlowClient:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.connected_at = time.monotonic()
        self.closed_after: float | None = None
        self.data = bytearray()

    def mark_closed(self):
        if self.closed_after is None:
            self.closed_after = time.monotonic() - self.connected_at


class SlowClients:
    """`count` connections that each send a partial head, then one more byte every `interval`
    seconds, from one thread; records when ringlb closes each one."""

    def __init__(self, port: int, count: int, interval: float):
        self.interval = interval
        self.clients: list[SlowClient] = []
        for i in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
            sock.setblocking(False)
            client = SlowClient(sock)
            self.clients.append(client)
            sock.send(f"GET /slow/{i} HTTP/1.1\r\nHost: slow.test\r\nX-Slow: ".encode())

    def run(self, limit: float):
        selector = selectors.DefaultSelector()
        for client in self.clients:
            selector.register(client.sock, selectors.EVENT_READ, client)
        start = time.monotonic()
        next_byte = start + self.interval
        while time.monotonic() - start < limit and selector.get_map():
            for key, _ in selector.select(timeout=0.02):
                client = key.data
                try:
                    data = client.sock.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    client.data += data
                    continue
                client.mark_closed()
                selector.unregister(client.sock)
            if time.monotonic() >= next_byte:
                next_byte += self.interval
                for key in list(selector.get_map().values()):
                    try:
                        key.data.sock.send(b"a")
                    except BlockingIOError:
                        pass
                    except OSError:
                        key.data.mark_closed()
                        selector.unregister(key.fileobj)
        selector.close()

    def close(self):
        for client in self.clients:
            client.sock.close()


class ClientIdleTest(HttpTestCase):
    def test_idle_keep_alive_connection_is_closed_while_an_active_one_survives(self):
        backend = self.backend(HttpBackend, "b")
        port = self.start_http([backend.port], client_idle="1s")
        idle, active = self.conn(port), self.conn(port)
        self.assertEqual(idle.request("GET", "/idle").status, 200)
        idle_since = time.monotonic()
        closed_after = None
        while time.monotonic() - idle_since < 3.0:
            self.assertEqual(active.request("GET", "/tick").status, 200,
                             "an active connection was closed")
            if closed_after is None and idle.closed_within(0.25):
                closed_after = time.monotonic() - idle_since
            if closed_after is not None and time.monotonic() - idle_since > 2.2:
                break
        self.assertIsNotNone(closed_after, "idle keep-alive connection open 3 s after 1 s idle")
        self.assertGreaterEqual(closed_after, 0.8)
        self.assertLessEqual(closed_after, 2.0)
        self.assertEqual(active.request("GET", "/still-here").status, 200)


if __name__ == "__main__":
    unittest.main()


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DescriptorExhaustionTest(HttpTestCase):
    def test_out_of_descriptors_backs_off_then_serves_again(self):
        backend = self.backend(HttpBackend)
        # ringlb inherits a soft limit of 40 descriptors (io_uring reads it when the accept is
        # armed, so it must be in place from the start); the test process gets its own back.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, hard))
        try:
            port = self.start_http([backend.port])
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        pid = self.ringlb.proc.pid
        self.assertEqual(get(port).status, 200)
        # Idle clients hold one descriptor each until none is left; the rest wait in the backlog.
        idle = []
        for _ in range(60):
            idle.append(self.client(port))
            if "accepting again in" in self.ringlb.log():
                break
            time.sleep(0.02)
        line = self.ringlb.wait_for_log("Too many open files; accepting again in", 5)
        self.assertIn("100 ms", line)
        before = cpu_seconds(pid)
        time.sleep(1.0)
        spent = cpu_seconds(pid) - before
        self.assertLess(spent, 0.3, "accepting in a busy loop while out of descriptors")
        warnings = self.ringlb.log().count("Too many open files")
        self.assertLessEqual(warnings, 15, "one warning per back-off, not one per failed accept")
        for sock in idle[:-3]:
            sock.close()
        # Descriptors again: a new client is accepted and proxied.
        self.assertEqual(get(port, timeout=5).status, 200)
