# Consistent hashing through the real binary: the same X-User-Id always reaches the same
# backend, whatever the order of requests; stopping one backend moves only the keys it held.
import unittest

from harness import free_port, runtime_user_lines
from http_harness import HttpBackend, HttpTestCase, get


def hash_config(port, backends, method):
    listed = ", ".join(f'{{ address = "127.0.0.1:{b.port}" }}' for b in backends)
    return f"""
[runtime]
workers = 1
{"".join(runtime_user_lines())}
[log]
access = "off"
[listeners.web]
bind = "127.0.0.1:{port}"
protocol = "http"
pool = "app"
[pools.app]
balance = "consistent_hash"
hash_key = "header:X-User-Id"
hash_method = "{method}"
backends = [ {listed} ]
  [pools.app.timeouts]
  connect = "500ms"
"""


class ConsistentHashTest(HttpTestCase):
    KEYS = [f"user-{i}" for i in range(120)]

    def start_pool(self, method):
        self.backends = [self.backend(HttpBackend, f"b{i}") for i in range(4)]
        port = free_port()
        self.start_ringlb(hash_config(port, self.backends, method), port)
        return port

    def owners(self, port, keys):
        owners = {}
        for key in keys:
            response = get(port, "/", headers=[("X-User-Id", key)])
            self.assertEqual(response.status, 200, str(response))
            owners[key] = response.header("X-Backend")
        return owners

    def check_stable_then_minimal_moves(self, method):
        port = self.start_pool(method)
        first = self.owners(port, self.KEYS)
        self.assertEqual(self.owners(port, list(reversed(self.KEYS))), first)
        self.assertGreaterEqual(len(set(first.values())), 3, "keys should spread over backends")
        victim = self.backends[1]
        victim.close()
        after = self.owners(port, self.KEYS)
        for key in self.KEYS:
            if first[key] != "b1":
                self.assertEqual(after[key], first[key], f"{key} moved though its backend lives")
            else:
                self.assertNotEqual(after[key], "b1")

    def test_maglev_same_key_same_backend_and_removal_moves_only_its_keys(self):
        self.check_stable_then_minimal_moves("maglev")

    def test_ring_same_key_same_backend_and_removal_moves_only_its_keys(self):
        self.check_stable_then_minimal_moves("ring")

    def test_request_without_the_header_is_still_served(self):
        port = self.start_pool("maglev")
        self.assertEqual(get(port, "/").status, 200)


if __name__ == "__main__":
    unittest.main()
