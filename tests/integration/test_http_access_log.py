# The HTTP access log (log.access = a file): one line per request with method, target, status,
# upstream address, request id (the client's or the generated one the backend saw) and a
# termination cause, including requests that failed upstream or were refused; JSON format parses.
import json
import re
import time
import unittest
from pathlib import Path

from harness import wait_until
from http_harness import FaultBackend, HttpBackend, HttpConn, HttpTestCase, build_request

FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def fields(line: str) -> dict[str, str]:
    """key=value pairs of a text line; a "quoted value" is unquoted."""
    found = {}
    for key, value in FIELD.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        found.setdefault(key, value)
    return found


class AccessLogCase(HttpTestCase):
    log_format = "text"

    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "app")
        self.broken = self.backend(FaultBackend, "reset")
        self.log_path = Path(self.tmpdir) / "access.log"
        self.port = self.start_http({"app": [self.app.port], "broken": [self.broken.port]},
                                    routes=[{"path_prefix": "/broken/", "pool": "broken"}],
                                    access_log=str(self.log_path), log_format=self.log_format)

    def lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def wait_lines(self, predicate, count: int = 1, timeout: float = 2.0) -> list[str]:
        """At least `count` lines matching `predicate` within `timeout` (lines are flushed
        every loop turn); fails with the log's content otherwise."""
        found = []

        def enough():
            found[:] = [line for line in self.lines() if predicate(line)]
            return len(found) >= count

        if not wait_until(enough, timeout, interval=0.05):
            self.fail(f"{len(found)} of {count} expected access log lines after {timeout}s; "
                      f"log:\n" + "\n".join(self.lines()[-20:]))
        return found


class TextAccessLogTest(AccessLogCase):
    def with_id(self, request_id: str):
        return lambda line: fields(line).get("request_id") == request_id

    def test_a_proxied_request_is_logged_with_its_fields(self):
        request_id = "5b0e1c0ffee0000000000000000000aa"
        with HttpConn(self.port) as conn:
            response = conn.request("GET", "/log/one?q=1", [("X-Request-Id", request_id)])
        self.assertEqual(response.status, 200)
        [line] = self.wait_lines(self.with_id(request_id))
        got = fields(line)
        self.assertEqual(got.get("method"), "GET", line)
        self.assertEqual(got.get("target"), "/log/one?q=1", line)
        self.assertEqual(got.get("status"), "200", line)
        self.assertEqual(got.get("upstream"), f"127.0.0.1:{self.app.port}", line)
        self.assertTrue(got.get("end"), f"no termination cause (end=) in {line}")

    def test_the_generated_request_id_is_the_one_the_backend_saw(self):
        with HttpConn(self.port) as conn:
            self.assertEqual(conn.request("POST", "/log/generated", body=b"abc").status, 200)
        request_id = self.app.requests[-1].header("X-Request-Id")
        self.assertIsNotNone(request_id)
        [line] = self.wait_lines(self.with_id(request_id))
        self.assertEqual(fields(line).get("target"), "/log/generated", line)
        self.assertEqual(fields(line).get("method"), "POST", line)

    def test_one_line_per_request_on_a_keep_alive_connection(self):
        ids = [f"{i:032x}" for i in range(1, 6)]
        with HttpConn(self.port) as conn:
            for i, request_id in enumerate(ids):
                self.assertEqual(conn.request("GET", f"/log/ka{i}",
                                              [("X-Request-Id", request_id)]).status, 200)
        self.wait_lines(lambda line: fields(line).get("request_id") in ids, count=5)
        time.sleep(0.3)
        for i, request_id in enumerate(ids):
            matching = [line for line in self.lines() if self.with_id(request_id)(line)]
            self.assertEqual(len(matching), 1, f"request {i}: {matching}")
            self.assertEqual(fields(matching[0]).get("target"), f"/log/ka{i}")

    def test_a_backend_failure_is_logged_with_status_upstream_and_cause(self):
        good_id, bad_id = "a" * 32, "b" * 32
        with HttpConn(self.port) as conn:
            self.assertEqual(conn.request("GET", "/ok", [("X-Request-Id", good_id)]).status, 200)
        with HttpConn(self.port) as conn:
            self.assertEqual(conn.request("GET", "/broken/x",
                                          [("X-Request-Id", bad_id)]).status, 502)
        [good] = self.wait_lines(self.with_id(good_id))
        [bad] = self.wait_lines(self.with_id(bad_id))
        self.assertEqual(fields(bad).get("status"), "502", bad)
        self.assertEqual(fields(bad).get("upstream"), f"127.0.0.1:{self.broken.port}", bad)
        self.assertTrue(fields(bad).get("end"), f"no termination cause in {bad}")
        self.assertNotEqual(fields(bad).get("end"), fields(good).get("end"),
                            "a reset backend and a clean response have the same end= cause")

    def test_a_refused_request_is_logged(self):
        with HttpConn(self.port) as conn:
            conn.send(b"GET /bad#target HTTP/1.1\r\nHost: h.test\r\n\r\n")
            self.assertEqual(conn.read_response().status, 400)
        [line] = self.wait_lines(lambda line: fields(line).get("status") == "400")
        self.assertTrue(fields(line).get("end"), f"no termination cause in {line}")

    def test_timeout_is_logged_as_504(self):
        hang = self.backend(FaultBackend, "hang")
        port = self.start_http([hang.port], response_timeout="500ms",
                               access_log=str(Path(self.tmpdir) / "access2.log"))
        self.log_path = Path(self.tmpdir) / "access2.log"
        with HttpConn(port) as conn:
            self.assertEqual(conn.request("GET", "/slow", [("X-Request-Id", "c" * 32)]).status,
                             504)
        [line] = self.wait_lines(self.with_id("c" * 32))
        self.assertEqual(fields(line).get("status"), "504", line)
        self.assertEqual(fields(line).get("upstream"), f"127.0.0.1:{hang.port}", line)


class JsonAccessLogTest(AccessLogCase):
    log_format = "json"

    def test_lines_are_json_objects_with_the_request_s_values(self):
        request_id = "d" * 32
        with HttpConn(self.port) as conn:
            self.assertEqual(conn.request("GET", "/log/json", [("X-Request-Id", request_id)])
                             .status, 200)
        [line] = self.wait_lines(lambda line: request_id in line)
        record = json.loads(line)
        self.assertIsInstance(record, dict)
        values = {str(value) for value in record.values()}
        for expected in ("GET", "/log/json", "200", request_id, f"127.0.0.1:{self.app.port}"):
            self.assertIn(expected, values, f"{expected!r} is no value of {record}")


if __name__ == "__main__":
    unittest.main()
