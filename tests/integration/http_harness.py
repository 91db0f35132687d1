# HTTP pieces for the integration tests: the test bases (HttpAssertions, HttpTestCase and
# SharedProxyTestCase, one ringlb per class). The payloads, messages, client, backends, config
# builder and RSS sampler live in http_payloads, http_messages, http_client, http_backend,
# http_fault_backend, http_proxy_config and rss_sampler, and are all re-exported here, so
# `from http_harness import X` keeps working. Python 3.11 stdlib only.
from __future__ import annotations

import sys
import tempfile
import time
import unittest

from http_payloads import (MiB, chunked_encode, pattern_bytes, pattern_chunks, pattern_sha256,
                           rechunk)
from http_messages import (REQUEST_ID, IncompleteResponse, NoResponse, Request, Response,
                           parse_fields)
from http_client import HttpConn, build_request, get
from http_backend import BackendConn, HttpBackend, parse_request_head
from http_fault_backend import FaultBackend
from http_proxy_config import http_config
from rss_sampler import RssSampler
from harness import (DEFAULT_TIMEOUT, HOST, Ringlb, RinglbTestCase, _ThreadedServer, connect,
                     free_port, ringlb_bin, rss_bytes, runtime_user_lines, wait_until,
                     write_config)


class HttpAssertions:
    """Assertions shared by every HTTP test case."""

    SETTLE = 0.15  # seconds to let a wrongly forwarded request reach a backend

    def assertProxyError(self, response: Response, status, msg: str = ""):
        """An answer from ringlb itself: status, short text/plain body, Connection: close."""
        statuses = (status,) if isinstance(status, int) else tuple(status)
        self.assertIn(response.status, statuses, f"{msg}\nresponse: {response}")
        self.assertTrue(response.closes, f"{msg}\nno Connection: close in {response.headers}")
        content_type = response.header("Content-Type") or ""
        self.assertTrue(content_type.startswith("text/plain"),
                        f"{msg}\nContent-Type {content_type!r} is not text/plain")
        self.assertTrue(0 < response.body_len <= 1024,
                        f"{msg}\nbody of {response.body_len} bytes is not short text")

    def assertBackendGotNothing(self, backend, settle: float | None = None, msg: str = ""):
        time.sleep(self.SETTLE if settle is None else settle)
        self.assertEqual(backend.bytes_received, 0,
                         f"{msg}\nthe backend received bytes: {backend.received_text()}")

    def assertNoCompleteRequest(self, backend: HttpBackend, settle: float | None = None,
                                msg: str = ""):
        """For errors found in a body (after a valid head): the backend may have seen the head,
        but never a completed request, and the upstream connection is closed."""
        time.sleep(self.SETTLE if settle is None else settle)
        complete = [r.target for r in backend.requests if r.complete]
        self.assertEqual(complete, [], f"{msg}\nthe backend completed requests: "
                                       f"{backend.received_text()}")
        used = [c for c in backend.conns if c.received > 0]
        self.assertTrue(wait_until(lambda: all(c.closed for c in used), 2.0),
                        f"{msg}\nthe upstream connection of the refused request is still open")

    def assertRefused(self, port: int, raw: bytes, status, timeout: float = 3.0,
                      msg: str = "") -> Response:
        """Sends `raw` on a new connection; ringlb answers `status` itself and closes."""
        with HttpConn(port, timeout) as conn:
            send_error = conn.try_send(raw)
            try:
                response = conn.read_response()
            except NoResponse as e:
                self.fail(f"{msg}\nno response: connection {e.how} with {e.data[:200]!r}"
                          f"{f' (send failed: {send_error})' if send_error else ''}")
            self.assertProxyError(response, status, msg)
            rest, how = conn.read_until_closed(2.0)
            self.assertNotEqual(how, "timeout", f"{msg}\nconnection still open 2 s after the "
                                                f"{response.status}")
            self.assertEqual(rest, b"", f"{msg}\nbytes after the error response: {rest[:200]!r}")
            return response


class HttpTestCase(HttpAssertions, RinglbTestCase):
    """A RinglbTestCase with HTTP helpers; each test starts its own ringlb."""

    def start_http(self, pools, **options) -> int:
        """Starts ringlb with http_config(...) on a free port; returns the port."""
        port = free_port()
        self.start_ringlb(http_config(port, pools, **options), port)
        return port

    def conn(self, port: int, timeout: float = DEFAULT_TIMEOUT) -> HttpConn:
        conn = HttpConn(port, timeout)
        self.addCleanup(conn.close)
        return conn


class SharedProxyTestCase(HttpAssertions, unittest.TestCase):
    """One ringlb and one set of backends for a whole class (many short vectors).

    Subclasses define make_backends(cls) (set class attributes, return the servers) and
    config(cls, port). Before each test the backends' records are reset; after each test
    ringlb must still be running (a crash fails that test, and the next test restarts it).
    """

    shared: Ringlb | None = None
    servers: list = []

    @classmethod
    def make_backends(cls) -> list:
        raise NotImplementedError

    @classmethod
    def config(cls, port: int) -> str:
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        binary = ringlb_bin()
        if not binary:
            raise unittest.SkipTest("RINGLB_BIN is not set")
        cls._tmp = tempfile.TemporaryDirectory(prefix="ringlb-it-")
        cls.servers = cls.make_backends()
        try:
            cls._start_shared()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _start_shared(cls):
        cls.port = free_port()
        path = write_config(cls._tmp.name, cls.config(cls.port))
        cls.shared = Ringlb(path, cls._tmp.name)
        cls.shared.start(cls.port)

    @classmethod
    def tearDownClass(cls):
        if cls.shared:
            cls.shared.cleanup()
            cls.shared = None
        for server in cls.servers:
            server.close()
        cls._tmp.cleanup()

    def setUp(self):
        cls = type(self)
        if not cls.shared.alive():
            cls.shared.cleanup()
            cls._start_shared()
        for server in cls.servers:
            if hasattr(server, "reset"):
                server.reset()
        self._log_mark = cls.shared.log_size()
        self.addCleanup(self._check_alive)

    def _check_alive(self):
        proc = type(self).shared
        failed = self._has_failed()
        if failed or not proc.alive():
            tail = proc.log()[self._log_mark:].splitlines()[-30:]
            print(f"\n{self.id()}\n--- ringlb stderr during this test ---\n" + "\n".join(tail),
                  file=sys.stderr)
        if not proc.alive():
            raise AssertionError(f"ringlb exited ({proc.proc.returncode}) during this test")

    _has_failed = RinglbTestCase._has_failed
