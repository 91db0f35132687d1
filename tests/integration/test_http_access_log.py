# The HTTP access log (log.access = a file): one line per request with method, target, status,
# upstream address, request id (the client's or the generated one the backend saw) and a
# termination cause, including requests that failed upstream or were refused; JSON format parses.
import json
import re
import time
import unittest
from pathlib import Path

from harness import EchoBackend, RinglbTestCase, echo_roundtrip, free_port, l4_config, wait_until
from http_harness import FaultBackend, HttpBackend, HttpConn, HttpTestCase, build_request

FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
TEXT_KEYS = ["listener", "client", "method", "target", "status", "bytes_in", "bytes_out",
             "upstream", "connect_ms", "head_ms", "total_ms", "end", "request_id", "protocol",
             "stream"]
FORGED_ID = "q end=forged status=999"


def fields(line: str) -> dict[str, str]:
    """key=value pairs of a text line; a "quoted value" is unquoted."""
    found = {}
    for key, value in FIELD.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        found.setdefault(key, value)
    return found


def exact_fields(line: str) -> dict[str, bytes]:
    """A text line split on spaces: "http" then exactly TEXT_KEYS in order, each value with its
    \\xHH escapes undone. Raises AssertionError when a value spilled into fields of its own."""
    words = line.split(" ")
    keys = [word.partition("=")[0] for word in words[1:]]
    if words[0] != "http" or keys != TEXT_KEYS:
        raise AssertionError(f"fields {keys} are not {TEXT_KEYS}: {line!r}")
    return {key: re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m[1], 16)]),
                        word.partition("=")[2].encode("latin-1"))
            for key, word in zip(keys, words[1:])}


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

    def raw_lines(self) -> list[bytes]:
        try:
            return self.log_path.read_bytes().splitlines()
        except FileNotFoundError:
            return []

    def send_id(self, request_id: bytes, target: str = "/forge") -> int:
        """One GET whose X-Request-Id is these exact bytes; returns the status."""
        with HttpConn(self.port) as conn:
            conn.send(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: h.test\r\nX-Request-Id: "
                      + request_id + b"\r\n\r\n")
            return conn.read_response().status

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


    def test_a_forged_request_id_stays_one_field(self):
        self.assertEqual(self.send_id(FORGED_ID.encode(), "/forged"), 200)
        [line] = self.wait_lines(lambda line: "/forged" in line)
        got = exact_fields(line)
        self.assertEqual(got["request_id"], FORGED_ID.encode())
        self.assertEqual(got["status"], b"200")
        self.assertEqual(got["end"], b"done")
        self.assertEqual(self.app.requests[-1].headers_named("X-Request-Id"), [FORGED_ID])

    def test_tabs_quotes_and_high_bytes_are_escaped(self):
        request_id = b'a\tb"c\\d\xffe\xc3\xa9'
        self.assertEqual(self.send_id(request_id, "/high"), 200)
        [line] = self.wait_lines(lambda line: "/high" in line)
        raw = next(raw for raw in self.raw_lines() if b"/high" in raw)
        self.assertTrue(all(0x21 <= byte <= 0x7e or byte == 0x20 for byte in raw),
                        f"raw bytes in a text line: {raw!r}")
        self.assertEqual(exact_fields(line)["request_id"], request_id)

    def test_every_line_has_exactly_its_fields(self):
        """Causes with spaces ("backend reset ...") are escaped like client values."""
        with HttpConn(self.port) as conn:
            self.assertEqual(conn.request("GET", "/ok").status, 200)
        with HttpConn(self.port) as conn:
            self.assertEqual(conn.request("GET", "/broken/x").status, 502)
        with HttpConn(self.port) as conn:
            conn.send(b"GET /bad#target HTTP/1.1\r\nHost: h.test\r\n\r\n")
            self.assertEqual(conn.read_response().status, 400)
        lines = self.wait_lines(lambda line: True, count=3)
        for line in lines:
            with self.subTest(line=line):
                exact_fields(line)


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

    def record(self, target: str) -> dict:
        """The JSON record of the request for `target`: the line must be valid UTF-8 and JSON."""
        self.wait_lines(lambda line: target in line)
        [raw] = [raw for raw in self.raw_lines() if target.encode() in raw]
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            self.fail(f"not a JSON line in UTF-8 ({error}): {raw!r}")

    def test_control_characters_and_invalid_utf8_keep_the_line_valid_json(self):
        request_id = b'a\tb"c\\d\xffe\xc3\xa9f\x80'
        self.assertEqual(self.send_id(request_id, "/json-escapes"), 200)
        record = self.record("/json-escapes")
        # Valid UTF-8 (U+00E9) is kept; each invalid byte reads as its Latin-1 character.
        self.assertEqual(record["request_id"], 'a\tb"c\\d\u00ffe\u00e9f\u0080')
        self.assertEqual(record["status"], 200)
        self.assertEqual(record["target"], "/json-escapes")


class TcpAccessLogTest(RinglbTestCase):
    """The tcp line escapes the listener's name and the end cause as the http line does: a name
    with a quote and a space stays one value in both formats."""

    NAME = 'a"b c'

    def tunnel_once(self, log_format: str) -> Path:
        backend = self.backend(EchoBackend)
        port = free_port()
        log_path = Path(self.tmpdir) / f"tcp-{log_format}.log"
        config = l4_config(port, [backend.port]).replace(
            'access = "off"', f'access = "{log_path}"\nformat = "{log_format}"').replace(
            "[listeners.l4]", '[listeners."a\\"b c"]')
        self.start_ringlb(config, port)
        sock = self.client(port)
        self.assertEqual(echo_roundtrip(sock, b"ping"), b"ping")
        sock.close()
        self.assertTrue(wait_until(lambda: log_path.exists() and log_path.read_text().strip(),
                                   3.0), "no tcp access log line")
        return log_path

    def test_json_line_parses_with_the_name_as_one_value(self):
        [line] = self.tunnel_once("json").read_text().splitlines()
        record = json.loads(line)
        self.assertEqual(record["listener"], self.NAME)
        self.assertEqual(record["type"], "tcp")

    def test_text_line_splits_into_its_fields(self):
        [line] = self.tunnel_once("text").read_text().splitlines()
        words = line.split(" ")
        self.assertEqual([word.partition("=")[0] for word in words[1:]],
                         ["listener", "client", "backend", "bytes_in", "bytes_out",
                          "duration_ms", "end"], line)
        self.assertEqual(words[1], "listener=a\\x22b\\x20c", line)


if __name__ == "__main__":
    unittest.main()
