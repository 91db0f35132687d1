# Backends that come and go without a reload (spec.md, "Discovery"): a watched backends_file
# (atomic rename, in-place write, a bad file that keeps the set), the admin API's PUT and DELETE
# with traffic running, a removed backend's slow request that finishes, a backend back within the
# hold that keeps its health, and two instances, fed in different orders from different sources,
# that map every key to the same backend and show the same fingerprint.
import json
import os
import threading
import time
import unittest
import urllib.parse

from harness import HOST, free_port, runtime_user_lines, wait_until
from http_harness import HttpBackend, HttpTestCase, get
from test_admin import Admin


def listed(addresses, weights=None):
    weights = weights or {}
    return ", ".join(
        f'{{ address = "{a}"' + (f", weight = {weights[a]}" if a in weights else "") + " }"
        for a in addresses)


def pool_config(port, admin_port, *, inline=(), backends_file=None, balance="round_robin",
                check=None, workers=2, pool_lines=(), health_lines=(), interval="100ms"):
    lines = [
        "[runtime]", f"workers = {workers}", 'grace_period = "2s"', *runtime_user_lines(),
        "[admin]", f'listen = "{HOST}:{admin_port}"',
        "[log]", 'access = "off"', 'level = "debug"',
        "[listeners.web]", f'bind = "{HOST}:{port}"', 'protocol = "http"', 'pool = "app"',
        "[pools.app]", f'balance = "{balance}"',
    ]
    if balance == "consistent_hash":
        lines.append('hash_key = "header:X-Key"')
    lines += pool_lines
    if inline or backends_file is None:
        lines.append(f"backends = [ {listed(inline)} ]")
    if backends_file:
        lines.append(f'backends_file = "{backends_file}"')
    if check:
        lines += ["[pools.app.health]", f'check = "{check}"', f'interval = "{interval}"',
                  'timeout = "200ms"', "rise = 1", "fall = 1", *health_lines]
    return "\n".join(lines) + "\n"


def write_atomically(path, text):
    temporary = path + ".tmp"
    with open(temporary, "w") as out:
        out.write(text)
    os.rename(temporary, path)


def write_in_place(path, text):
    with open(path, "r+" if os.path.exists(path) else "w") as out:
        out.truncate(0)
        out.write(text)


def backends_text(addresses, weights=None):
    return f"backends = [ {listed(addresses, weights)} ]\n"


class Traffic:
    """Requests in a loop from a few threads until stopped; counts what failed."""

    def __init__(self, port, threads=4, path="/"):
        self.port, self.path = port, path
        self.ok = 0
        self.failed = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self):
        while not self.stopping.is_set():
            try:
                response = get(self.port, self.path, timeout=5)
                good = response.status == 200
                problem = str(response.status)
            except Exception as error:  # noqa: BLE001 - any failure counts
                good, problem = False, repr(error)
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.failed.append(problem)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(10)


class MembershipTestCase(HttpTestCase):
    def start(self, **kwargs):
        self.port, self.admin_port = free_port(), free_port()
        self.proc = self.start_ringlb(pool_config(self.port, self.admin_port, **kwargs), self.port)
        self.admin = Admin(self.admin_port)
        return self.port

    def pool_status(self, admin=None):
        pools = (admin or self.admin).status()["pools"]
        return next(pool for pool in pools if pool["name"] == "app")

    def addresses(self, admin=None):
        return sorted(b["address"] for b in self.pool_status(admin)["backends"])

    def served_by(self, port=None, rounds=12):
        return {get(port or self.port, "/").header("X-Backend") for _ in range(rounds)}


class BackendsFileTest(MembershipTestCase):
    def setUp(self):
        super().setUp()
        self.backends = [self.backend(HttpBackend, f"b{i}") for i in range(3)]
        self.address = [f"{HOST}:{b.port}" for b in self.backends]
        self.path = os.path.join(self.tmpdir, "app.backends.toml")

    def test_atomic_rename_and_in_place_write_change_the_set(self):
        write_atomically(self.path, backends_text(self.address[:1]))
        self.start(backends_file=self.path)
        self.assertEqual(self.served_by(), {"b0"})
        write_atomically(self.path, backends_text(self.address[:2]))
        self.assertTrue(wait_until(lambda: self.served_by() == {"b0", "b1"}, 3),
                        self.proc.log_tail())
        write_in_place(self.path, backends_text(self.address[1:]))
        self.assertTrue(wait_until(lambda: self.served_by() == {"b1", "b2"}, 3),
                        self.proc.log_tail())
        self.assertEqual(self.addresses(), sorted(self.address[1:]))

    def test_a_bad_file_keeps_the_set_and_says_where(self):
        write_atomically(self.path, backends_text(self.address[:2]))
        self.start(backends_file=self.path)
        write_atomically(self.path, 'backends = [ { address = "127.0.0.1:notaport" } ]\n')
        self.proc.wait_for_log(f"{self.path}:1:", timeout=3)
        write_in_place(self.path, "backends = [ { adress = 1 }")  # a syntax error
        self.proc.wait_for_log(f"{self.path}:1:", timeout=3, start=0)
        os.remove(self.path)
        self.proc.wait_for_log("keeping the running set", timeout=3)
        time.sleep(0.3)
        self.assertEqual(self.served_by(), {"b0", "b1"})
        self.assertEqual(self.addresses(), sorted(self.address[:2]))
        write_atomically(self.path, backends_text(self.address[2:]))  # created again: seen
        self.assertTrue(wait_until(lambda: self.served_by() == {"b2"}, 3), self.proc.log_tail())

    def test_check_validates_the_file(self):
        write_atomically(self.path, 'backends = [ { address = "127.0.0.1:1", wieght = 2 } ]\n')
        config = self.write_config(pool_config(free_port(), free_port(), backends_file=self.path))
        from harness_process import run_ringlb
        result = run_ringlb("--check", "-c", config)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"{self.path}:1:", result.stdout + result.stderr)


class AdminMembershipTest(MembershipTestCase):
    def setUp(self):
        super().setUp()
        self.backends = [self.backend(HttpBackend, f"b{i}") for i in range(4)]
        self.address = [f"{HOST}:{b.port}" for b in self.backends]

    def put(self, address, body=None):
        return self.admin_request("PUT", address, body)

    def delete(self, address):
        return self.admin_request("DELETE", address)

    def admin_request(self, method, address, body=None):
        import http.client
        conn = http.client.HTTPConnection(HOST, self.admin_port, timeout=5)
        try:
            path = f"/pools/app/backends/{urllib.parse.quote(address, safe='')}"
            conn.request(method, path, body=body)
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def test_put_and_delete_with_traffic_running_fail_nothing(self):
        self.start(inline=self.address[:2])
        with Traffic(self.port) as traffic:
            time.sleep(0.3)
            self.assertEqual(self.put(self.address[2], '{"weight": 3}')[0], 201)
            self.assertEqual(self.put(self.address[2])[0], 409)
            self.assertTrue(wait_until(lambda: "b2" in self.served_by(rounds=20), 3))
            self.assertEqual(self.delete(self.address[0])[0], 202)
            self.assertEqual(self.delete(self.address[0])[0], 404)
            time.sleep(0.3)
        self.assertEqual(traffic.failed, [])
        self.assertGreater(traffic.ok, 50)
        self.assertNotIn("b0", self.served_by(rounds=20))
        weights = {b["address"]: b["weight"] for b in self.pool_status()["backends"]}
        self.assertEqual(weights, {self.address[1]: 1, self.address[2]: 3})

    def test_twenty_membership_changes_under_load_fail_nothing(self):
        self.start(inline=self.address[:2])
        with Traffic(self.port) as traffic:
            for change in range(10):
                extra = self.address[2 + change % 2]
                self.assertEqual(self.put(extra)[0], 201)
                time.sleep(0.05)
                self.assertEqual(self.delete(extra)[0], 202)
                time.sleep(0.05)
        print(f"\n20 membership changes under load: {traffic.ok} requests ok, "
              f"{len(traffic.failed)} failed")
        self.assertEqual(traffic.failed, [])
        self.assertGreater(traffic.ok, 50)

    def test_a_removed_backend_finishes_its_slow_request(self):
        self.start(inline=self.address[:1])
        result = {}

        def slow():
            result["response"] = get(self.port, "/delay/1500", timeout=10)

        from http_client import HttpConn
        kept = HttpConn(self.port)  # a keep-alive connection from before the change
        self.assertEqual(kept.request("GET", "/").header("X-Backend"), "b0")
        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.3)
        self.assertEqual(self.put(self.address[1])[0], 201)
        self.assertEqual(self.delete(self.address[0])[0], 202)
        self.assertEqual(self.served_by(), {"b1"})
        # Its next request goes to the new set, on the same connection (adopted, not drained).
        time.sleep(0.2)
        response = kept.request("GET", "/", timeout=3)
        kept.close()
        self.assertEqual((response.status, response.header("X-Backend")), (200, "b1"))
        thread.join(10)
        self.assertEqual(result["response"].status, 200)
        self.assertEqual(result["response"].header("X-Backend"), "b0")

    def test_keep_alive_connections_ride_through_changes_and_reach_joiners(self):
        # A change is adopted at a connection's next request: no keep-alive connection is closed
        # under its client (which would fail the request it was sending), and one opened before
        # a backend joined reaches it.
        self.start(inline=self.address[:2], workers=1)
        from http_client import HttpConn
        kept = HttpConn(self.port)
        seen = set()
        for change in range(10):
            extra = self.address[2 + change % 2]
            self.assertEqual(self.put(extra)[0], 201)
            time.sleep(0.05)
            for _ in range(4):
                seen.add(kept.request("GET", "/", timeout=3).header("X-Backend"))
            self.assertEqual(self.delete(extra)[0], 202)
            time.sleep(0.05)
            for _ in range(4):
                seen.add(kept.request("GET", "/", timeout=3).header("X-Backend"))
        kept.close()
        self.assertEqual(seen, {"b0", "b1", "b2", "b3"})

    def test_delete_of_the_last_backend_then_put_again(self):
        self.start(inline=self.address[:1])
        self.assertEqual(self.delete(self.address[0])[0], 202)
        self.assertEqual(get(self.port, "/").status, 503)
        self.assertEqual(self.put(self.address[1])[0], 201)
        self.assertEqual(self.served_by(), {"b1"})

    def test_a_backend_back_within_the_hold_keeps_its_health(self):
        self.start(inline=self.address[:2], check="http")
        self.assertTrue(wait_until(lambda: all(
            b["state"] == "up" for b in self.pool_status()["backends"]), 3))
        self.served_by(rounds=10)
        time.sleep(1.5)
        before = self.backend_status(self.address[1])
        self.assertEqual(self.delete(self.address[1])[0], 202)
        self.assertEqual(self.put(self.address[1])[0], 201)
        self.proc.wait_for_log("is back within the hold", timeout=3)
        after = self.backend_status(self.address[1])
        self.assertEqual(after["state"], "up")
        # Its time in state and its counters go on; a backend seen afresh would start at 0.
        self.assertGreaterEqual(after["seconds_in_state"], before["seconds_in_state"])
        self.assertGreaterEqual(after["requests_total"], before["requests_total"])
        self.assertGreater(after["requests_total"], 0)

    def backend_status(self, address):
        return next(b for b in self.pool_status()["backends"] if b["address"] == address)

    def test_a_backend_that_joins_ramps_under_slow_start(self):
        self.start(inline=self.address[:1], pool_lines=['slow_start = "2s"'], workers=1)
        self.assertEqual(self.put(self.address[1])[0], 201)
        joined = time.monotonic()
        from http_client import HttpConn
        buckets = {}
        with HttpConn(self.port, 3.0) as conn:
            while (elapsed := time.monotonic() - joined) < 2.6:
                name = conn.request("GET", "/ramp").header("X-Backend")
                buckets.setdefault(int(elapsed / 0.5), []).append(name)
                time.sleep(0.002)

        def share(bucket):
            names = buckets.get(bucket, [])
            return names.count("b1") / max(1, len(names))

        self.assertLess(share(0), 0.2, f"first half second: {share(0):.2f} to the joiner")
        self.assertGreater(share(4), 0.4, f"after the ramp: {share(4):.2f} to the joiner")

    def test_a_backend_that_joins_starts_in_initial_state(self):
        self.start(inline=self.address[:1], check="http", interval="1500ms",
                   health_lines=['initial_state = "unknown"'])
        self.assertTrue(wait_until(lambda: self.backend_status(self.address[0])["state"] == "up",
                                   5))  # b0 itself starts unknown
        with Traffic(self.port) as traffic:
            self.assertEqual(self.put(self.address[1])[0], 201)
            # Unknown until its first check passes (up to 1.5 s): no traffic meanwhile.
            self.assertEqual(self.served_by(rounds=20), {"b0"})
            self.assertEqual(self.backend_status(self.address[1])["state"], "unknown")
            self.assertTrue(wait_until(lambda: "b1" in self.served_by(rounds=10), 5))
        self.assertEqual(traffic.failed, [])

    def test_reload_undoes_the_admin_changes(self):
        self.start(inline=self.address[:2])
        self.assertEqual(self.put(self.address[2])[0], 201)
        self.assertEqual(self.delete(self.address[0])[0], 202)
        import signal
        self.proc.send_signal(signal.SIGHUP)
        self.proc.wait_for_log("reload reset the backends the admin API added or removed")
        self.assertTrue(wait_until(lambda: self.addresses() == sorted(self.address[:2]), 3))


class FleetTest(MembershipTestCase):
    KEYS = 10000

    def test_two_instances_from_different_sources_agree_on_every_key(self):
        backends = [self.backend(HttpBackend, f"b{i}") for i in range(5)]
        address = [f"{HOST}:{b.port}" for b in backends]
        path = os.path.join(self.tmpdir, "fleet.backends.toml")
        write_atomically(path, backends_text(list(reversed(address))))
        one = self.start(inline=address, balance="consistent_hash")
        admin_one = self.admin
        two_port, two_admin = free_port(), free_port()
        self.start_ringlb(pool_config(two_port, two_admin, backends_file=path,
                                      balance="consistent_hash"), two_port)
        admin_two = Admin(two_admin)
        fingerprint = self.pool_status(admin_one)["table_fingerprint"]
        self.assertEqual(self.pool_status(admin_two)["table_fingerprint"], fingerprint)
        self.assertEqual(self.owners(one), self.owners(two_port))
        # One backend leaves both: through the admin API on one, through the file on the other.
        status, _ = AdminMembershipTest.admin_request(self, "DELETE", address[2])
        self.assertEqual(status, 202)
        write_in_place(path, backends_text([a for a in address if a != address[2]]))
        self.assertTrue(wait_until(
            lambda: self.pool_status(admin_two)["table_fingerprint"] ==
            self.pool_status(admin_one)["table_fingerprint"], 3))
        self.assertNotEqual(self.pool_status(admin_one)["table_fingerprint"], fingerprint)
        after = self.owners(one)
        self.assertEqual(after, self.owners(two_port))
        self.assertNotIn("b2", set(after.values()))

    def owners(self, port):
        from http_client import HttpConn
        owners = {}
        conn = HttpConn(port)
        try:
            for key in range(self.KEYS):
                response = conn.request("GET", "/", headers=[("X-Key", f"k{key}")])
                owners[key] = response.header("X-Backend")
        finally:
            conn.close()
        return owners


if __name__ == "__main__":
    unittest.main()
