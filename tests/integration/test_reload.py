# Reload under load: clients keep sending HTTP requests (a fresh connection each, keep-alive
# connections, and requests tunnelled through a tcp listener) while ringlb gets 20 SIGHUPs that
# alternate between two backend sets. Not one request may fail, and once the reloads stop every
# new connection reaches the last set only.
import json
import os
import signal
import sys
import threading
import time
import unittest

from harness import HOST, connection_refused, free_port, runtime_user_lines, wait_until
from http_harness import HttpBackend, HttpConn, HttpTestCase, NoResponse, get, http_config

RELOADS = 20
SETTLE = 0.05  # seconds of traffic between one reload and the next


def config(http_port: int, tcp_port: int, backends) -> str:
    listed = ", ".join(f'{{ address = "{HOST}:{b.port}" }}' for b in backends)
    return "\n".join([
        "[runtime]", "workers = 2", 'grace_period = "5s"', *runtime_user_lines(),
        "[log]", 'access = "off"',
        "[listeners.web]", f'bind = "{HOST}:{http_port}"', 'protocol = "http"', 'pool = "app"',
        "[listeners.tunnel]", f'bind = "{HOST}:{tcp_port}"', 'protocol = "tcp"', 'pool = "app"',
        "[pools.app]", f"backends = [ {listed} ]",
        "[pools.app.timeouts]", 'connect = "1s"', 'response = "5s"',
    ]) + "\n"


class Load:
    """Client threads that send requests until stopped, counting sends and failures."""

    def __init__(self, http_port: int, tcp_port: int):
        self.http_port = http_port
        self.tcp_port = tcp_port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sent = {"fresh": 0, "keep-alive": 0, "tcp": 0}
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self.fresh, daemon=True),
                        threading.Thread(target=self.keep_alive, daemon=True),
                        threading.Thread(target=self.keep_alive, daemon=True),
                        threading.Thread(target=self.tunnelled, daemon=True)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def record(self, kind: str, status: int | None, detail: str = ""):
        with self.lock:
            self.sent[kind] += 1
            if status != 200:
                self.failures.append(f"{kind} #{self.sent[kind]}: {status} {detail}")

    def fresh(self):
        """One connection per request, closed by the client after the response."""
        while not self.stop.is_set():
            try:
                response = get(self.http_port, "/fresh", [("Connection", "close")], timeout=5)
                self.record("fresh", response.status)
            except Exception as e:  # noqa: BLE001 - any error is a failed request
                self.record("fresh", None, repr(e))

    def keep_alive(self):
        """Requests on one connection; a new one when the server closes it cleanly.

        A reload closes idle keep-alive connections, so a request sent on a connection that has
        served one may meet a close with nothing answered: as HTTP clients do (RFC 9112 9.3.1),
        it is sent again on a new connection, and is not a failure."""
        while not self.stop.is_set():
            try:
                with HttpConn(self.http_port, timeout=5) as conn:
                    for served in range(50):
                        if self.stop.is_set():
                            return
                        try:
                            response = conn.request("GET", "/keep-alive")
                        except (NoResponse, ConnectionResetError, BrokenPipeError) as e:
                            if served > 0 and (not isinstance(e, NoResponse) or not e.data):
                                break  # closed while idle: retried on a new connection
                            raise
                        self.record("keep-alive", response.status)
                        if response.closes:
                            break
            except Exception as e:  # noqa: BLE001
                self.record("keep-alive", None, repr(e))

    def tunnelled(self):
        """HTTP through the tcp listener: a new tunnel (and backend connection) per request."""
        while not self.stop.is_set():
            try:
                response = get(self.tcp_port, "/tcp", [("Connection", "close")], timeout=5)
                self.record("tcp", response.status)
            except Exception as e:  # noqa: BLE001
                self.record("tcp", None, repr(e))

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.sent.values())


class ReloadUnderLoadTest(HttpTestCase):
    def test_twenty_reloads_under_load_lose_no_request(self):
        first = [self.backend(HttpBackend, name) for name in ("a1", "a2")]
        second = [self.backend(HttpBackend, name) for name in ("b1", "b2")]
        http_port, tcp_port = free_port(), free_port()
        self.start_ringlb(config(http_port, tcp_port, first), http_port)
        started = time.monotonic()
        with Load(http_port, tcp_port) as load:
            self.assertTrue(self.wait_for(lambda: load.total >= 20, 5), "no traffic flows")
            for reload in range(1, RELOADS + 1):
                backends = second if reload % 2 else first
                self.write_config(config(http_port, tcp_port, backends))
                mark = self.ringlb.log_size()
                self.ringlb.send_signal(signal.SIGHUP)
                self.ringlb.wait_for_log("configuration reloaded", start=mark)
                time.sleep(SETTLE)
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        print(f"\nreload under load: {RELOADS} reloads in {elapsed:.1f}s, {load.total} requests "
              f"sent ({load.sent}), {len(load.failures)} failed", file=sys.stderr)
        self.assertEqual(load.failures, [], f"{len(load.failures)} of {load.total} failed")
        self.assertGreaterEqual(load.total, 200, f"too little traffic to mean much: {load.sent}")
        self.assertGreater(min(load.sent.values()), 0, load.sent)
        self.assertIn("reloaded", self.ringlb.log())
        # RELOADS is even: the last set is `first`.
        for backend in first + second:
            backend.reset()
        names = {get(http_port, f"/after/{i}").header("X-Backend") for i in range(8)}
        self.assertEqual(names, {"a1", "a2"}, "the last backend set is not the one in effect")
        self.assertEqual(sum(b.connections for b in second), 0,
                         "a removed backend got new connections after the last reload")

    @staticmethod
    def wait_for(predicate, timeout: float) -> bool:
        return wait_until(predicate, timeout, interval=0.01)


class ListenerReloadTest(HttpTestCase):
    def reload(self, text: str):
        self.write_config(text)
        mark = self.ringlb.log_size()
        self.ringlb.send_signal(signal.SIGHUP)
        self.ringlb.wait_for_log("configuration reloaded", start=mark)

    def test_added_listener_accepts_and_removed_one_drains(self):
        app = self.backend(HttpBackend, "app")
        http_port, tcp_port = free_port(), free_port()
        only_web = config(http_port, tcp_port, [app]).replace(
            f'[listeners.tunnel]\nbind = "{HOST}:{tcp_port}"\nprotocol = "tcp"\npool = "app"\n',
            "")
        self.assertNotIn("tunnel", only_web)
        self.start_ringlb(only_web, http_port)
        self.assertTrue(connection_refused(tcp_port))
        self.reload(config(http_port, tcp_port, [app]))
        self.assertEqual(get(tcp_port, "/added").status, 200)
        open_tunnel = self.conn(tcp_port)
        self.assertEqual(open_tunnel.request("GET", "/before-removal").status, 200)
        self.reload(only_web)
        self.assertTrue(wait_until(lambda: connection_refused(tcp_port), 2.0),
                        "the removed listener still accepts")
        self.assertEqual(open_tunnel.request("GET", "/while-draining").status, 200,
                         "an open connection of a removed listener was cut")
        self.assertEqual(get(http_port, "/kept").status, 200)


class AccessLogReloadTest(HttpTestCase):
    """A reload that changes [log] access or format is applied by every worker, or refused by
    name; it never logs "reloaded" and keeps writing the old file in the old format."""

    REQUESTS = 12  # fresh connections, so both workers' SO_REUSEPORT sockets get some

    def lines(self, path: str) -> list[str]:
        try:
            with open(path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def send(self, port: int, tag: str):
        for i in range(self.REQUESTS):
            self.assertEqual(get(port, f"/{tag}/{i}").status, 200)

    def reload(self, text: str) -> str:
        """SIGHUP with `text` as the file; the log from the reload on, once it finished."""
        self.write_config(text)
        mark = self.ringlb.log_size()
        self.ringlb.send_signal(signal.SIGHUP)
        self.ringlb.wait_for_log("reload", start=mark)
        self.assertTrue(wait_until(lambda: "configuration reloaded" in self.ringlb.log()[mark:]
                                   or "reload failed" in self.ringlb.log()[mark:], 5.0))
        return self.ringlb.log()[mark:]

    def test_a_new_file_and_format_are_used_by_every_worker(self):
        app = self.backend(HttpBackend, "app")
        before = os.path.join(self.tmpdir, "before.log")
        after = os.path.join(self.tmpdir, "after.log")
        port = free_port()
        self.start_ringlb(http_config(port, [app.port], workers=2, access_log=before), port)
        self.send(port, "old")
        self.assertTrue(wait_until(lambda: len(self.lines(before)) == self.REQUESTS, 5.0),
                        self.lines(before))
        log = self.reload(http_config(port, [app.port], workers=2, access_log=after,
                                      log_format="json"))
        self.assertIn("configuration reloaded", log)
        self.send(port, "new")
        self.assertTrue(wait_until(lambda: len(self.lines(after)) == self.REQUESTS, 5.0),
                        f"{len(self.lines(after))} of {self.REQUESTS} lines in the new file; "
                        f"{len(self.lines(before))} in the old one")
        for line in self.lines(after):
            record = json.loads(line)  # the new format: one JSON object per line
            self.assertTrue(any("/new/" in str(value) for value in record.values()), record)
        self.assertEqual(len(self.lines(before)), self.REQUESTS,
                         "requests after the reload went to the old file")
        self.assertIn(after, log, "the reload did not say the access log moved")

    def test_an_access_log_that_cannot_be_opened_refuses_the_reload_by_name(self):
        app = self.backend(HttpBackend, "app")
        before = os.path.join(self.tmpdir, "before.log")
        port = free_port()
        self.start_ringlb(http_config(port, [app.port], workers=2, access_log=before), port)
        log = self.reload(http_config(port, [app.port], workers=2,
                                      access_log=os.path.join(self.tmpdir, "no-dir", "x.log")))
        self.assertIn("reload failed", log)
        self.assertIn("log.access", log)
        self.assertNotIn("configuration reloaded", log)
        self.send(port, "kept")
        self.assertTrue(wait_until(lambda: len(self.lines(before)) == self.REQUESTS, 5.0),
                        "the running access log stopped after a refused reload")


if __name__ == "__main__":
    unittest.main()
