# The admin API through the real binary: /status's schema and numbers, /metrics as Prometheus
# text whose counters match the traffic sent, drain/enable/weight changing where requests go,
# the bearer token, reload resetting the admin's changes, and /ready while stopping.
import http.client
import json
import os
import re
import signal
import threading
import time
import unittest
import urllib.parse

from harness import HOST, free_port, runtime_user_lines, wait_until
from http_harness import HttpBackend, HttpConn, HttpTestCase


def admin_config(port, admin_port, backends, *, token=None, admin_host=HOST, check="http",
                 grace="2s", balance="round_robin"):
    listed = ", ".join(f'{{ address = "{HOST}:{b.port}" }}' for b in backends)
    lines = [
        "[runtime]", "workers = 2", f'grace_period = "{grace}"', *runtime_user_lines(),
        "[admin]", f'listen = "{admin_host}:{admin_port}"',
        *([f'token = "{token}"'] if token else []),
        "[log]", 'access = "off"',
        "[listeners.web]", f'bind = "{HOST}:{port}"', 'protocol = "http"', 'pool = "app"',
        "[pools.app]", f'balance = "{balance}"', f"backends = [ {listed} ]",
    ]
    if check:
        lines += ["[pools.app.health]", f'check = "{check}"', 'interval = "200ms"',
                  'timeout = "200ms"', "rise = 1", "fall = 1"]
    return "\n".join(lines) + "\n"


class Admin:
    """A tiny client for the admin port: one request per connection, as the server answers."""

    def __init__(self, port, token=None):
        self.port = port
        self.token = token

    def request(self, method, path, token=None, headers=None):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            sent = dict(headers or {})
            token = token if token is not None else self.token
            if token:
                sent["Authorization"] = f"Bearer {token}"
            conn.request(method, path, headers=sent)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode()
        finally:
            conn.close()

    def json(self, method, path, **kwargs):
        status, _, body = self.request(method, path, **kwargs)
        return status, json.loads(body)

    def status(self):
        code, body = self.json("GET", "/status")
        assert code == 200, (code, body)
        return body

    def metrics(self):
        code, _, body = self.request("GET", "/metrics")
        assert code == 200, (code, body)
        return parse_prometheus(body)

    def control(self, pool, backend, action, query=""):
        path = (f"/pools/{pool}/backends/{urllib.parse.quote(backend, safe='')}/{action}"
                + (f"?{query}" if query else ""))
        return self.json("POST", path)


# ---- a small, strict parser of the Prometheus text format (0.0.4) ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)$")


def parse_prometheus(text):
    """{family: {"type": t, "help": h, "samples": [(name, {labels}, value)]}}; raises
    AssertionError on anything the format does not allow (a sample before its TYPE, a family
    declared twice, a sample of another family in its block, a bad value, bad histograms)."""
    families = {}
    current = None
    assert text.endswith("\n"), "the exposition must end with a newline"
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert name not in families, f"family {name} declared twice"
            families[name] = {"help": help_text, "type": None, "samples": []}
            current = name
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert name == current, f"TYPE {name} not right after its HELP"
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), kind
            families[name]["type"] = kind
        elif line.startswith("#") or not line:
            continue
        else:
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, labels_text, value = match.groups()
            assert current is not None and families[current]["type"], f"{name} before a TYPE"
            kind = families[current]["type"]
            allowed = {current}
            if kind == "histogram":
                allowed = {current + "_bucket", current + "_sum", current + "_count"}
            assert name in allowed, f"{name} inside the block of {current}"
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                     labels_text or ""))
            number = float(value)  # raises on anything but a float, +Inf, NaN
            families[current]["samples"].append((name, labels, number))
    for name, family in families.items():
        if family["type"] == "counter":
            assert name.endswith("_total"), f"counter {name} should end in _total"
            assert all(v >= 0 for _, _, v in family["samples"]), name
        if family["type"] == "histogram":
            check_histogram(name, family["samples"])
    return families


def check_histogram(name, samples):
    series = {}
    for sample_name, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        entry = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if sample_name.endswith("_bucket"):
            entry["buckets"].append((float(labels["le"]), value))
        elif sample_name.endswith("_count"):
            entry["count"] = value
        else:
            entry["sum"] = value
    for key, entry in series.items():
        bounds = [b for b, _ in entry["buckets"]]
        counts = [c for _, c in entry["buckets"]]
        assert bounds == sorted(bounds) and bounds[-1] == float("inf"), (name, key)
        assert counts == sorted(counts), f"{name}{key}: buckets must be cumulative"
        assert entry["count"] == counts[-1], f"{name}{key}: +Inf bucket != _count"
        assert entry["sum"] is not None and entry["sum"] >= 0, (name, key)


def value(families, family, **labels):
    """The one sample of `family` whose labels include `labels`."""
    found = [v for name, l, v in families[family]["samples"]
             if name == family and all(l.get(k) == want for k, want in labels.items())]
    assert len(found) == 1, (family, labels, found)
    return found[0]


def histogram_count(families, family, **labels):
    found = [v for name, l, v in families[family]["samples"]
             if name == family + "_count" and all(l.get(k) == w for k, w in labels.items())]
    assert len(found) == 1, (family, labels, found)
    return found[0]


class AdminTestCase(HttpTestCase):
    def start_admin(self, backends=None, **options):
        self.backends = backends or [self.backend(HttpBackend, "a"), self.backend(HttpBackend, "b")]
        self.port = free_port()
        self.admin_port = free_port()
        self.proc = self.start_ringlb(
            admin_config(self.port, self.admin_port, self.backends, **options), self.port)
        self.admin = Admin(self.admin_port, options.get("token"))
        self.assertTrue(wait_until(lambda: self._admin_answers(), 5), self.proc.log_tail())
        return self.admin

    def _admin_answers(self):
        try:
            self.admin.request("GET", "/ready")
            return True
        except OSError:
            return False

    def wait_all_up(self):
        def all_up():
            backends = self.admin.status()["pools"][0]["backends"]
            return all(b["state"] == "up" and b["last_check"] for b in backends)
        self.assertTrue(wait_until(all_up, 5), self.admin.status())

    def send(self, count, target="/"):
        """`count` GETs on one keep-alive connection; the X-Backend of each."""
        names = []
        with HttpConn(self.port) as conn:
            for _ in range(count):
                response = conn.request("GET", target)
                names.append(response.header("X-Backend") or f"status {response.status}")
        return names


class StatusTest(AdminTestCase):
    def test_status_schema_and_numbers_match_the_traffic(self):
        admin = self.start_admin()
        self.wait_all_up()
        names = self.send(10) + self.send(3, "/status/503")
        # A request is counted when its exchange ends, just after the client has the response.
        wait_until(lambda: admin.status()["listeners"][0]["requests_total"] == 13, 2)
        # The client's close reaches the worker after its last response: a loaded machine can
        # read the status in between.
        wait_until(lambda: admin.status()["listeners"][0]["active_connections"] == 0, 2)
        status = admin.status()

        self.assertIsInstance(status["version"], str)
        self.assertRegex(status["started_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertFalse(status["stopping"])
        self.assertEqual(status["workers"], 2)
        config = status["config"]
        self.assertEqual(config["file"], os.path.realpath(self.proc.config_path))
        self.assertRegex(config["loaded_at"], r"^\d{4}-\d\d-\d\dT")
        self.assertEqual((config["reloads"], config["reloads_failed"]), (0, 0))

        [listener] = status["listeners"]
        self.assertEqual(listener["name"], "web")
        self.assertEqual(listener["address"], f"{HOST}:{self.port}")
        self.assertEqual(listener["protocol"], "http")
        self.assertIs(listener["tls"], False)
        self.assertEqual(listener["requests_total"], 13)
        self.assertEqual(listener["responses"], {"1xx": 0, "2xx": 10, "3xx": 0, "4xx": 0,
                                                 "5xx": 3})
        self.assertEqual(listener["connections_total"], 2)
        self.assertEqual(listener["active_connections"], 0)
        self.assertGreater(listener["bytes_in"], 13 * 20)
        self.assertGreater(listener["bytes_out"], listener["bytes_in"])

        [pool] = status["pools"]
        self.assertEqual((pool["name"], pool["algorithm"], pool["panic"]),
                         ("app", "round_robin", False))
        self.assertEqual(len(pool["backends"]), 2)
        for entry, backend in zip(pool["backends"], self.backends):
            self.assertEqual(entry["address"], f"{HOST}:{backend.port}")
            self.assertEqual(entry["weight"], 1)
            self.assertEqual(entry["effective_weight"], 1.0)
            self.assertEqual(entry["state"], "up")
            self.assertIsInstance(entry["reason"], str)
            self.assertGreaterEqual(entry["seconds_in_state"], 0)
            self.assertEqual(entry["active_connections"], 0)
            self.assertFalse(entry["draining"])
            # The proxy's count per backend is the backend's own count.
            self.assertEqual(entry["requests_total"], len(backend.requests), entry)
            self.assertEqual(entry["requests_total"], names.count(backend.name))
            check = entry["last_check"]
            self.assertEqual(check["result"], "pass")
            self.assertEqual(check["status"], 200)
            self.assertGreaterEqual(check["latency_ms"], 0)
            self.assertLess(check["latency_ms"], 500)
        self.assertEqual(sum(b["responses"]["5xx"] for b in pool["backends"]), 3)

    def test_a_failed_check_shows_as_down_with_its_reason(self):
        admin = self.start_admin()
        self.wait_all_up()
        self.backends[1].health_status = 503

        def down():
            return admin.status()["pools"][0]["backends"][1]["state"] == "down"
        self.assertTrue(wait_until(down, 5), admin.status())
        entry = admin.status()["pools"][0]["backends"][1]
        self.assertIn("503", entry["reason"])
        self.assertEqual(entry["last_check"]["result"], "L7STS")
        self.assertFalse(entry["eligible"])

    def test_unknown_paths_methods_and_garbage(self):
        admin = self.start_admin()
        code, body = admin.json("GET", "/nope")
        self.assertEqual(code, 404)
        self.assertIn("error", body)
        code, body = admin.json("POST", "/status")
        self.assertEqual(code, 405)
        code, body = admin.json("GET", f"/pools/app/backends/{HOST}:{self.backends[0].port}/drain")
        self.assertEqual(code, 405)
        with HttpConn(self.admin_port) as conn:
            conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
            self.assertEqual(conn.read_response(5).status, 400)
        self.assertEqual(admin.request("GET", "/ready")[0], 200)


class MetricsTest(AdminTestCase):
    def test_metrics_parse_and_count_what_was_sent(self):
        admin = self.start_admin()
        self.wait_all_up()
        self.send(20)
        self.send(4, "/status/503")
        self.send(2, "/status/404")
        web = {"listener": "web"}
        # A request is counted when its exchange ends, just after the client has the response.
        wait_until(lambda: value(admin.metrics(), "ringlb_requests_total", **web) == 26, 2)
        families = admin.metrics()
        self.assertEqual(value(families, "ringlb_requests_total", **web), 26)
        self.assertEqual(value(families, "ringlb_connections_accepted_total", **web), 3)
        self.assertEqual(value(families, "ringlb_active_connections", **web), 0)
        self.assertEqual(value(families, "ringlb_responses_total", code_class="2xx", **web), 20)
        self.assertEqual(value(families, "ringlb_responses_total", code_class="5xx", **web), 4)
        self.assertEqual(value(families, "ringlb_responses_total", code_class="4xx", **web), 2)
        self.assertEqual(histogram_count(families, "ringlb_request_duration_seconds", **web), 26)
        self.assertEqual(value(families, "ringlb_retries_total", **web), 0)
        total = 0
        for backend in self.backends:
            labels = {"pool": "app", "backend": f"{HOST}:{backend.port}"}
            sent = value(families, "ringlb_backend_requests_total", **labels)
            self.assertEqual(sent, len(backend.requests))
            total += sent
            self.assertEqual(value(families, "ringlb_backend_state", state="up", **labels), 1)
            self.assertEqual(value(families, "ringlb_backend_state", state="down", **labels), 0)
            self.assertGreater(value(families, "ringlb_health_checks_total", result="pass",
                                     **labels), 0)
            self.assertEqual(
                histogram_count(families, "ringlb_upstream_response_head_seconds", **labels), sent)
        self.assertEqual(total, 26)
        self.assertEqual(value(families, "ringlb_pool_panic", pool="app"), 0)
        self.assertEqual(value(families, "ringlb_reloads_total", result="ok"), 0)
        # The pool's table fingerprint, as /status shows it (one series per pool).
        fingerprint = admin.status()["pools"][0]["table_fingerprint"]
        self.assertRegex(fingerprint, "^[0-9a-f]{16}$")
        self.assertEqual(value(families, "ringlb_pool_table_info", pool="app",
                               fingerprint=fingerprint), 1)
        # Labels stay bounded: nothing names a path or a client.
        for family in families.values():
            for _, labels, _ in family["samples"]:
                self.assertLessEqual(set(labels), {"listener", "pool", "backend", "code_class",
                                                    "state", "result", "reason", "le",
                                                    "fingerprint"})

    def test_a_refused_connect_is_a_retry_and_a_connect_failure(self):
        backends = [self.backend(HttpBackend, "a"), self.backend(HttpBackend, "b")]
        admin = self.start_admin(backends, check=None)
        backends[0].close()  # its port now refuses
        self.assertEqual(self.send(4), ["b"] * 4)
        families = admin.metrics()
        dead = {"pool": "app", "backend": f"{HOST}:{backends[0].port}"}
        failures = value(families, "ringlb_backend_connect_failures_total", **dead)
        self.assertGreaterEqual(failures, 1)
        self.assertEqual(value(families, "ringlb_retries_total", listener="web"), failures)


class ControlTest(AdminTestCase):
    def test_drain_stops_new_requests_and_enable_brings_them_back(self):
        admin = self.start_admin()
        self.wait_all_up()
        a = f"{HOST}:{self.backends[0].port}"
        code, body = admin.control("app", a, "drain")
        self.assertEqual(code, 200, body)
        self.assertEqual(body, {"pool": "app", "backend": a, "draining": True, "weight": 1})
        self.assertEqual(self.send(10), ["b"] * 10)
        entry = admin.status()["pools"][0]["backends"][0]
        self.assertEqual((entry["state"], entry["draining"]), ("draining", True))
        self.assertIn("drained", self.proc.log())

        code, body = admin.control("app", a, "enable")
        self.assertEqual((code, body["draining"]), (200, False))
        self.assertEqual(sorted(set(self.send(10))), ["a", "b"])

    def test_weight_changes_the_share_at_once(self):
        admin = self.start_admin(check=None)
        a = f"{HOST}:{self.backends[0].port}"
        b = f"{HOST}:{self.backends[1].port}"
        code, body = admin.control("app", a, "weight", "value=3")
        self.assertEqual((code, body["weight"]), (200, 3))
        names = self.send(40)
        self.assertEqual((names.count("a"), names.count("b")), (30, 10))
        self.assertEqual(admin.status()["pools"][0]["backends"][0]["weight"], 3)
        code, _ = admin.control("app", b, "weight", "value=0")
        self.assertEqual(code, 200)
        self.assertEqual(self.send(8), ["a"] * 8)

    def test_unknown_pool_or_backend_is_404_and_bad_weight_400(self):
        admin = self.start_admin(check=None)
        a = f"{HOST}:{self.backends[0].port}"
        code, body = admin.control("nope", a, "drain")
        self.assertEqual(code, 404)
        self.assertIn("nope", body["error"])
        code, body = admin.control("app", f"{HOST}:1", "drain")
        self.assertEqual(code, 404)
        self.assertIn(f"{HOST}:1", body["error"])
        for bad in ("", "value=", "value=x", "value=-1", "value=1001", "other=3",
                    "value=99999999999"):
            code, body = admin.control("app", a, "weight", bad)
            self.assertEqual(code, 400, bad)
        self.assertEqual(sorted(set(self.send(6))), ["a", "b"])

    def test_reload_resets_the_admin_changes_and_says_so(self):
        admin = self.start_admin()
        self.wait_all_up()
        a = f"{HOST}:{self.backends[0].port}"
        b = f"{HOST}:{self.backends[1].port}"
        admin.control("app", a, "drain")
        admin.control("app", b, "weight", "value=5")
        self.proc.send_signal(signal.SIGHUP)
        self.proc.wait_for_log("configuration reloaded", 5)
        line = self.proc.wait_for_log("reset the admin API's changes", 5)
        self.assertIn(f"drain of app/{a}", line)
        self.assertIn(f"weight of app/{b}", line)
        self.assertTrue(wait_until(lambda: admin.status()["pools"][0]["backends"][0]["state"]
                                   == "up", 3))
        backends = admin.status()["pools"][0]["backends"]
        self.assertEqual([x["weight"] for x in backends], [1, 1])
        self.assertEqual(sorted(set(self.send(6))), ["a", "b"])
        self.assertEqual(value(admin.metrics(), "ringlb_reloads_total", result="ok"), 1)
        self.assertEqual(admin.status()["config"]["reloads"], 1)


class AccessTest(AdminTestCase):
    def test_token_is_required_on_every_request(self):
        admin = self.start_admin(check=None, token="s3cret-token")
        a = f"{HOST}:{self.backends[0].port}"
        for path in ("/status", "/metrics", "/ready"):
            code, headers, _ = admin.request("GET", path, token="")
            self.assertEqual(code, 401, path)
            self.assertIn("Bearer", headers.get("WWW-Authenticate", ""))
            code, _, _ = admin.request("GET", path, token="s3cret-tokeX")
            self.assertEqual(code, 401, path)
            code, _, _ = admin.request("GET", path)
            self.assertEqual(code, 200, path)
        # The page is open (a browser cannot send the token when navigating); its data is not.
        code, _, page = admin.request("GET", "/dashboard", token="")
        self.assertEqual(code, 200)
        self.assertIn("<html", page.lower())
        path = f"/pools/app/backends/{a}/drain"
        self.assertEqual(admin.request("POST", path, token="")[0], 401)
        self.assertEqual(sorted(set(self.send(4))), ["a", "b"])
        self.assertEqual(admin.request("POST", path)[0], 200)
        self.assertEqual(self.send(4), ["b"] * 4)

    def test_changes_sent_by_another_site_are_refused(self):
        admin = self.start_admin(check=None)
        a = f"{HOST}:{self.backends[0].port}"
        path = f"/pools/app/backends/{a}/drain"
        # A form on any page, a fetch from another site, a DNS-rebound name: none may drain.
        for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                        {"Host": f"evil.example:{admin.port}"}):
            code, _, body = admin.request("POST", path, headers=headers)
            self.assertEqual(code, 403, headers)
            self.assertIn("refused" if "Host" not in headers else "loopback Host", body)
        self.assertEqual(sorted(set(self.send(4))), ["a", "b"])
        # The dashboard's own button: same origin.
        same = {"Origin": f"http://{HOST}:{admin.port}", "Sec-Fetch-Site": "same-origin"}
        self.assertEqual(admin.request("POST", path, headers=same)[0], 200)
        self.assertEqual(self.send(4), ["b"] * 4)

    def test_changes_off_loopback_need_a_token(self):
        admin = self.start_admin(check=None, admin_host="0.0.0.0")
        a = f"{HOST}:{self.backends[0].port}"
        self.assertEqual(admin.request("GET", "/status")[0], 200)
        code, body = admin.control("app", a, "drain")
        self.assertEqual(code, 403)
        self.assertIn("admin.token", body["error"])
        self.assertEqual(sorted(set(self.send(4))), ["a", "b"])

    def test_ready_turns_503_while_stopping(self):
        backend = self.backend(HttpBackend, "a")
        admin = self.start_admin([backend], check=None, grace="3s")
        self.assertEqual(admin.request("GET", "/ready")[0], 200)
        # A slow request keeps the drain going while /ready is asked.
        slow = HttpConn(self.port, timeout=10)
        self.addCleanup(slow.close)
        slow.send(b"GET /delay/1500 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait_for_log("stopping", 3)
        code, _, body = admin.request("GET", "/ready")
        self.assertEqual((code, body), (503, "stopping\n"))
        self.assertTrue(admin.status()["stopping"])
        self.assertEqual(slow.read_response(5).status, 200)


if __name__ == "__main__":
    unittest.main()
