# Hostile clients of the admin port (issue 15, items 5 and 7): slow or trickling connections do
# not lock out /ready and /metrics, one client address cannot take the slots of another, a whole
# request has one deadline, a DNS-rebound Host reads nothing, and an error answered before the
# request was read to its end reaches the client intact.
import http.client
import select
import socket
import time
import unittest

from harness import HOST
from test_admin import AdminTestCase

REQUEST_DEADLINE = 5.0  # kRequestLimit in core/admin/admin_server.cpp
SHARE = 16              # kSlotLimits.per_address
SLOTS = 64              # kSlotLimits.total


def slow_client(port, source=HOST, first=b"G"):
    """A connection from `source` that has sent `first` and then nothing."""
    sock = socket.create_connection((HOST, port), timeout=5, source_address=(source, 0))
    sock.sendall(first)
    return sock


def closed_by_peer(sock, timeout):
    """True when the server closed `sock` (EOF or reset) within `timeout` seconds."""
    readable, _, _ = select.select([sock], [], [], timeout)
    if not readable:
        return False
    try:
        sock.setblocking(False)
        return sock.recv(1 << 16) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except BlockingIOError:
        return False


def timed_get(port, path, source=HOST, host=None):
    """(status, seconds) of GET `path` on a new connection from `source`; status is the error
    text when the connection failed."""
    start = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=5, source_address=(source, 0))
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - start
    except OSError as e:
        return f"{type(e).__name__}: {e}", time.monotonic() - start
    except http.client.HTTPException as e:
        return f"{type(e).__name__}: {e}", time.monotonic() - start
    finally:
        conn.close()


class SlotTest(AdminTestCase):
    def open_slow(self, count, source=HOST):
        socks = [slow_client(self.admin_port, source) for _ in range(count)]
        for sock in socks:
            self.addCleanup(sock.close)
        return socks

    def test_trickling_connections_do_not_lock_out_ready_and_metrics(self):
        self.start_admin(check=None)
        # More trickling connections than the admin port has slots, from the prober's own
        # address (both on loopback), each sending a byte now and then.
        socks = self.open_slow(SLOTS + 6)
        time.sleep(0.3)
        for sock in socks:
            try:
                sock.send(b"E")
            except OSError:
                pass  # already closed to make room: fine
        for path in ("/ready", "/metrics", "/ready"):
            status, seconds = timed_get(self.admin_port, path)
            self.assertEqual(status, 200, path)
            self.assertLess(seconds, 2.0, path)
        self.assertIn("64 in all", self.proc.wait_for_log("closed to make room", 3))

    def test_one_address_holds_at_most_its_share(self):
        self.start_admin(check=None)
        socks = self.open_slow(SHARE + 4, source="127.0.0.5")
        # The four opened first made room for the last four; the other sixteen stay open.
        closed = [closed_by_peer(sock, 3.0 if i < 4 else 0.05) for i, sock in enumerate(socks)]
        self.assertEqual(closed, [True] * 4 + [False] * SHARE)

    def test_a_flood_from_other_addresses_does_not_evict_a_quiet_one(self):
        self.start_admin(check=None)
        # Four slow requests from one address, half sent...
        quiet = self.open_slow(4, source="127.0.0.2")
        for sock in quiet:
            sock.sendall(b"ET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.2)
        # ...then five other addresses hold more than all the slots between them.
        for source in range(10, 15):
            self.open_slow(14, source=f"127.0.0.{source}")
        time.sleep(0.3)
        # A newcomer from a third address gets in...
        status, seconds = timed_get(self.admin_port, "/ready", source="127.0.0.3")
        self.assertEqual(status, 200)
        self.assertLess(seconds, 2.0)
        # ...and the quiet address, which held the fewest slots, lost none to the flood or to the
        # newcomer: its requests finish and are answered.
        for sock in quiet:
            sock.sendall(b"\r\n")
            self.assertTrue(sock.recv(4096).startswith(b"HTTP/1.1 200 "))


class DeadlineTest(AdminTestCase):
    def test_a_request_has_one_deadline_not_one_per_read(self):
        self.start_admin(check=None)
        sock = socket.create_connection((HOST, self.admin_port), timeout=5)
        self.addCleanup(sock.close)
        start = time.monotonic()
        head = b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
        answer = b""
        # One byte every 0.25 s: never idle, never done.
        for byte in head:
            readable, _, _ = select.select([sock], [], [], 0.25)
            if readable:
                answer = sock.recv(4096)
                break
            if time.monotonic() - start > REQUEST_DEADLINE + 4:
                break
            sock.send(bytes([byte]))
        elapsed = time.monotonic() - start
        self.assertTrue(answer.startswith(b"HTTP/1.1 408 "), (answer, elapsed))
        self.assertGreater(elapsed, REQUEST_DEADLINE - 0.5)
        self.assertLess(elapsed, REQUEST_DEADLINE + 2.5)
        self.assertTrue(closed_by_peer(sock, 3))


class HostTest(AdminTestCase):
    def test_reads_need_a_loopback_host_without_a_token(self):
        self.start_admin(check=None)
        port = self.admin_port
        # A page that rebound its own name to 127.0.0.1 sends that name; 127.x names are names.
        for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}",
                     f"127.evil.example:{port}"):
            for path in ("/status", "/metrics", "/dashboard"):
                status, _ = timed_get(port, path, host=host)
                self.assertEqual(status, 403, (host, path))
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"LocalHost.:{port}",
                     f"127.1.2.3:{port}", f"[::1]:{port}"):
            status, _ = timed_get(port, "/status", host=host)
            self.assertEqual(status, 200, host)

    def test_a_token_guards_any_host(self):
        admin = self.start_admin(check=None, token="s3cret")
        code, _, _ = admin.request("GET", "/status", headers={"Host": "ringlb.internal"})
        self.assertEqual(code, 200)
        code, _, _ = admin.request("GET", "/status", token="",
                                   headers={"Host": "ringlb.internal"})
        self.assertEqual(code, 401)


class BearerTest(AdminTestCase):
    def test_the_scheme_is_case_insensitive(self):
        admin = self.start_admin(check=None, token="s3cret")
        for value in ("bearer s3cret", "BEARER s3cret", "Bearer  s3cret"):
            code, _, _ = admin.request("GET", "/status", token="",
                                       headers={"Authorization": value})
            self.assertEqual(code, 200, value)
        for value in ("Bearer s3cre", "Bearers3cret", "Basic s3cret", "bearer S3CRET"):
            code, _, _ = admin.request("GET", "/status", token="",
                                       headers={"Authorization": value})
            self.assertEqual(code, 401, value)


class EarlyAnswerTest(AdminTestCase):
    def test_an_error_sent_before_the_request_was_read_arrives_intact(self):
        self.start_admin(check=None)
        # Refused at the head, while the rest is still on its way: a body over 64 KiB, a head
        # over 16 KiB. Like http.client, the client sends all of it before it reads; the body
        # leaves a moment after the head, so the answer is out before it.
        def late_body():
            time.sleep(0.3)
            for _ in range(10):
                yield b"x" * 60_000

        for status, headers in ((413, {}), (431, {"X-Big": "y" * 20_000})):
            conn = http.client.HTTPConnection(HOST, self.admin_port, timeout=5)
            try:
                conn.request("POST", "/status", body=late_body(),
                             headers={"Content-Length": "600000", **headers})
                response = conn.getresponse()
                self.assertEqual(response.status, status)
                self.assertIn(b"error", response.read())
            except OSError as e:
                self.fail(f"{status}: the answer was lost: {type(e).__name__}: {e}")
            finally:
                conn.close()


if __name__ == "__main__":
    unittest.main()
