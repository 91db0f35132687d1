# `ringlb explain` and `ringlb simulate` through the real binary: the answer depends only on the
# key and the backend set (never the config order), a removed backend's keys are the ones that
# move, and every mistake on the command line or in the file exits 1 with a reason.
import re
import unittest

from harness import RinglbTestCase, free_port, run_ringlb

ADDRESSES = [f"127.0.0.{i}:{9000 + i}" for i in range(1, 11)]


def pool_config(backends, *, balance="consistent_hash", hash_key="client_ip",
                method="maglev", protocol="tcp") -> str:
    """One listener feeding pool 'api'; `backends` holds addresses or (address, weight) pairs."""
    lines = [
        "[listeners.front]", f'bind = "127.0.0.1:{free_port()}"', f'protocol = "{protocol}"',
        'pool = "api"', "", "[pools.api]", f'balance = "{balance}"',
    ]
    if balance == "consistent_hash":
        lines += [f'hash_key = "{hash_key}"', f'hash_method = "{method}"']
    lines.append("backends = [")
    for backend in backends:
        address, weight = backend if isinstance(backend, tuple) else (backend, 1)
        lines.append(f'  {{ address = "{address}", weight = {weight} }},')
    lines.append("]")
    return "\n".join(lines) + "\n"


def field(output: str, name: str) -> str:
    match = re.search(rf"^{name}:\s+(.*)$", output, re.MULTILINE)
    if not match:
        raise AssertionError(f"no '{name}:' line in:\n{output}")
    return match.group(1).strip()


class ExplainTest(RinglbTestCase):
    def explain(self, path: str, key: str, pool: str = "api") -> str:
        result = run_ringlb("explain", "-c", path, "--pool", pool, "--key", key)
        self.assertEqual(result.returncode, 0, result.stderr)
        return field(result.stdout, "chosen")

    def test_explain_names_the_algorithm_the_lookup_and_the_backend(self):
        path = self.write_config(pool_config(ADDRESSES))
        result = run_ringlb("explain", "-c", path, "--pool", "api", "--key", "192.0.2.7")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("consistent_hash (maglev, 65537 slots, hash_key client_ip)",
                      field(result.stdout, "algorithm"))
        self.assertRegex(field(result.stdout, "lookup"),
                         r"^hash 0x[0-9a-f]{16} -> slot \d+ of 65537$")
        self.assertIn(field(result.stdout, "chosen"), ADDRESSES)

    def test_the_same_key_maps_alike_whatever_the_config_order(self):
        forward = self.write_config(pool_config(ADDRESSES))
        keys = [f"198.51.100.{i}" for i in range(1, 25)]
        chosen = [self.explain(forward, key) for key in keys]
        self.assertGreater(len(set(chosen)), 3, chosen)
        backward = self.write_config(pool_config(list(reversed(ADDRESSES))))
        self.assertEqual([self.explain(backward, key) for key in keys], chosen)
        self.assertEqual([self.explain(forward, key) for key in keys], chosen)

    def test_removing_a_backend_moves_only_its_keys_on_a_ring(self):
        keys = [f"203.0.113.{i}" for i in range(1, 41)]
        full = self.write_config(pool_config(ADDRESSES, method="ring"))
        before = {key: self.explain(full, key) for key in keys}
        gone = before[keys[0]]
        smaller = self.write_config(pool_config([a for a in ADDRESSES if a != gone], method="ring"))
        for key in keys:
            after = self.explain(smaller, key)
            if before[key] != gone:
                self.assertEqual(after, before[key], key)
            self.assertNotEqual(after, gone)

    def test_a_header_key_is_the_raw_value(self):
        path = self.write_config(pool_config(ADDRESSES, hash_key="header:X-User-Id",
                                             protocol="http"))
        result = run_ringlb("explain", "-c", path, "--pool", "api", "--key", "alice")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(field(result.stdout, "key"), '"alice" (header:X-User-Id)')
        self.assertEqual(self.explain(path, "alice"), field(result.stdout, "chosen"))

    def test_a_weight_zero_backend_is_never_chosen(self):
        backends = [(ADDRESSES[0], 0), ADDRESSES[1], ADDRESSES[2]]
        path = self.write_config(pool_config(backends))
        for i in range(1, 16):
            self.assertNotEqual(self.explain(path, f"192.0.2.{i}"), ADDRESSES[0])

    def test_a_pool_that_does_not_hash_says_the_key_is_unused(self):
        path = self.write_config(pool_config(ADDRESSES[:2], balance="round_robin"))
        result = run_ringlb("explain", "-c", path, "--pool", "api", "--key", "anything")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("not used", field(result.stdout, "key"))
        self.assertEqual(field(result.stdout, "chosen"), ADDRESSES[0])

    def test_a_client_ip_key_must_be_an_ip_address(self):
        path = self.write_config(pool_config(ADDRESSES))
        result = run_ringlb("explain", "-c", path, "--pool", "api", "--key", "alice")
        self.assertEqual(result.returncode, 1)
        self.assertIn("'alice' is not an IP address", result.stderr)

    def test_an_unknown_pool_exits_1_naming_the_pools(self):
        path = self.write_config(pool_config(ADDRESSES))
        result = run_ringlb("explain", "-c", path, "--pool", "apj", "--key", "192.0.2.1")
        self.assertEqual(result.returncode, 1)
        self.assertIn("no pool 'apj'", result.stderr)
        self.assertIn("api", result.stderr)

    def test_a_missing_key_is_a_usage_error(self):
        path = self.write_config(pool_config(ADDRESSES))
        result = run_ringlb("explain", "-c", path, "--pool", "api")
        self.assertEqual(result.returncode, 1)
        self.assertIn("--key", result.stderr)

    def test_a_bad_file_prints_its_diagnostics_and_exits_1(self):
        path = self.write_config(pool_config(ADDRESSES).replace("hash_method", "hash_metod"))
        result = run_ringlb("explain", "-c", path, "--pool", "api", "--key", "192.0.2.1")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{path}:", result.stderr)
        self.assertIn("unknown key 'hash_metod'", result.stderr)

    def test_the_config_flag_may_come_before_the_subcommand(self):
        path = self.write_config(pool_config(ADDRESSES))
        result = run_ringlb("-c", path, "explain", "--pool", "api", "--key", "192.0.2.7")
        self.assertEqual(result.returncode, 0, result.stderr)


class SimulateTest(RinglbTestCase):
    def simulate(self, path: str, remove: str, *extra: str):
        result = run_ringlb("simulate", "-c", path, "--pool", "api", "--remove", remove, *extra)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout
        moved = int(field(out, "moved").split()[0])
        necessary = int(field(out, "necessary").split()[0])
        keys = int(field(out, "keys").split()[0])
        loads = {}
        for match in re.finditer(r"^(\S+:\d+)\s+(\d+)\s+(\d+)$", out, re.MULTILINE):
            loads[match.group(1)] = (int(match.group(2)), int(match.group(3)))
        return keys, moved, necessary, loads

    def test_on_a_ring_exactly_the_removed_backends_keys_move(self):
        path = self.write_config(pool_config(ADDRESSES, method="ring"))
        keys, moved, necessary, loads = self.simulate(path, ADDRESSES[3])
        self.assertEqual(keys, 100000)
        self.assertEqual(moved, necessary)
        self.assertEqual(sorted(loads), sorted(ADDRESSES))
        self.assertEqual(loads[ADDRESSES[3]], (necessary, 0))
        self.assertEqual(sum(before for before, _ in loads.values()), keys)
        self.assertEqual(sum(after for _, after in loads.values()), keys)
        for address, (before, after) in loads.items():
            if address != ADDRESSES[3]:
                self.assertGreaterEqual(after, before, address)

    def test_maglev_moves_close_to_the_removed_share(self):
        path = self.write_config(pool_config(ADDRESSES))
        keys, moved, necessary, loads = self.simulate(path, ADDRESSES[7], "--keys", "20000")
        self.assertEqual(keys, 20000)
        self.assertGreaterEqual(moved, necessary)
        self.assertLessEqual(moved, 1.6 * necessary)
        self.assertAlmostEqual(necessary / keys, 0.1, delta=0.02)
        self.assertEqual(loads[ADDRESSES[7]][1], 0)

    def test_an_address_may_be_written_any_valid_way(self):
        path = self.write_config(pool_config(["[::1]:9001", "[::1]:9002"]))
        _, _, _, loads = self.simulate(path, "[0:0::1]:9002", "--keys", "100")
        self.assertEqual(loads["[::1]:9002"][1], 0)

    def test_a_pool_that_does_not_hash_is_refused(self):
        path = self.write_config(pool_config(ADDRESSES, balance="least_connections"))
        result = run_ringlb("simulate", "-c", path, "--pool", "api", "--remove", ADDRESSES[0])
        self.assertEqual(result.returncode, 1)
        self.assertIn("does not hash keys", result.stderr)

    def test_a_backend_not_in_the_pool_is_refused(self):
        path = self.write_config(pool_config(ADDRESSES))
        result = run_ringlb("simulate", "-c", path, "--pool", "api", "--remove", "127.9.9.9:1")
        self.assertEqual(result.returncode, 1)
        self.assertIn("127.9.9.9:1 is not a backend of pool 'api'", result.stderr)

    def test_zero_keys_is_a_usage_error(self):
        path = self.write_config(pool_config(ADDRESSES))
        result = run_ringlb("simulate", "-c", path, "--pool", "api", "--remove", ADDRESSES[0],
                            "--keys", "0")
        self.assertEqual(result.returncode, 1)


if __name__ == "__main__":
    unittest.main()
