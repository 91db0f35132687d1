# DNS discovery end to end: a real ringlb whose pool comes from a DNS server on loopback
# (dns_server.py), real HTTP backends, and what a client sees when the records change, when the
# resolver fails, and when it answers with nothing.
from __future__ import annotations

import signal
import time
import unittest

from dns_harness import NameBackend, dns_config, metric, names, wait_for, who
from dns_server import DnsServer
from harness import RinglbTestCase, free_port

SRV = "_http._tcp.app.test"


class DnsDiscoveryTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.dns = DnsServer()
        self.addCleanup(self.dns.close)
        self.admin = free_port()

    def named(self, name: str, ip: str = "127.0.0.1", port: int = 0) -> NameBackend:
        return self.backend(NameBackend, name, ip, port)

    def start(self, dns_lines: list[str], **options) -> int:
        port = free_port()
        lines = [*dns_lines, f'resolvers = ["{self.dns.address}"]']
        self.start_ringlb(dns_config(port, self.admin, lines, **options), port)
        return port

    def srv_table(self, *entries: tuple[int, NameBackend]) -> dict:
        """SRV records (weight, backend), every target 127.0.0.1."""
        return {SRV: {"SRV": [[0, weight, backend.port, "b.app.test"] for weight, backend in entries]},
                "b.app.test": {"A": ["127.0.0.1"]}}

    def wait_names(self, port: int, wanted: set[str], count: int = 8, timeout: float = 6.0):
        got = wait_for(lambda: set(names(port, count)) == wanted, timeout)
        self.assertTrue(got, f"never answered by exactly {wanted}: last {names(port, count)}")

    def test_a_records_add_and_remove_backends(self):
        one = self.named("one", "127.0.0.1")
        two = self.named("two", "127.0.0.2", one.port)  # the same port on another loopback IP
        self.dns.set({"app.test": {"A": ["127.0.0.1"]}})
        port = self.start(['name = "app.test"', f"port = {one.port}", 'refresh = "1s"'])
        self.wait_names(port, {"one"})
        self.dns.set({"app.test": {"A": ["127.0.0.1", "127.0.0.2"]}})
        self.wait_names(port, {"one", "two"})
        self.dns.set({"app.test": {"A": ["127.0.0.2"]}})
        self.wait_names(port, {"two"})
        self.assertEqual(metric(self.admin, "ringlb_dns_backends"), 1)

    def test_srv_gives_ports_and_weights(self):
        heavy, light = self.named("heavy"), self.named("light")
        self.dns.set(self.srv_table((3, heavy), (1, light)))
        port = self.start([f'srv = "{SRV}"', 'refresh = "1s"'])
        self.wait_names(port, {"heavy", "light"})
        self.assertEqual(names(port, 8), {"heavy": 6, "light": 2})  # smooth weighted round robin
        self.dns.set(self.srv_table((1, heavy), (1, light)))
        self.assertTrue(wait_for(lambda: names(port, 8) == {"heavy": 4, "light": 4}, 6.0),
                        f"the SRV weight change never applied: {names(port, 8)}")

    def test_srv_targets_outside_the_additional_section_are_resolved(self):
        backend = self.named("only")
        self.dns.additional = False
        self.dns.set(self.srv_table((1, backend)))
        port = self.start([f'srv = "{SRV}"', 'refresh = "1s"'])
        self.wait_names(port, {"only"})

    def test_a_resolver_outage_keeps_the_set_and_is_counted(self):
        one, two = self.named("one"), self.named("two")
        self.dns.set(self.srv_table((1, one), (1, two)))
        port = self.start([f'srv = "{SRV}"', 'refresh = "1s"', 'timeout = "300ms"'])
        self.wait_names(port, {"one", "two"})
        log_start = self.ringlb.log_size()
        self.dns.mode = "silent"
        self.assertTrue(wait_for(lambda: (metric(self.admin, "ringlb_dns_failures_total") or 0) >= 3,
                                 10.0), "three failed refreshes were never counted")
        self.assertEqual(metric(self.admin, "ringlb_dns_failing"), 1)
        self.assertEqual(names(port, 8), {"one": 4, "two": 4})  # the last good answer serves
        outage_log = self.ringlb.log()[log_start:]
        self.assertEqual(outage_log.count("lookup of SRV"), 1, outage_log)  # logged once
        self.dns.mode = "normal"
        self.ringlb.wait_for_log("answers again", timeout=5.0, start=log_start)
        self.assertTrue(wait_for(lambda: metric(self.admin, "ringlb_dns_failing") == 0, 3.0))

    def test_bad_replies_keep_the_set(self):
        one = self.named("one")
        self.dns.set(self.srv_table((1, one)))
        port = self.start([f'srv = "{SRV}"', 'refresh = "1s"', 'timeout = "300ms"'])
        self.wait_names(port, {"one"})
        for mode in ("servfail", "garbage", "truncated"):
            with self.subTest(mode=mode):
                before = metric(self.admin, "ringlb_dns_failures_total")
                self.dns.mode = mode
                self.assertTrue(wait_for(
                    lambda: metric(self.admin, "ringlb_dns_failures_total") > before, 6.0),
                    f"a {mode} reply was not counted as a failure")
                self.assertEqual(names(port, 4), {"one": 4})
        self.dns.mode = "normal"

    def test_a_slow_resolver_never_overlaps_refreshes(self):
        one = self.named("one")
        self.dns.set(self.srv_table((1, one)))
        port = self.start([f'srv = "{SRV}"', 'refresh = "1s"', 'timeout = "1s"'])
        self.wait_names(port, {"one"})
        self.dns.delay, self.dns.mode = 2.5, "slow"  # every answer comes after the timeout
        queries_before = self.dns.queries
        time.sleep(4.5)
        # One refresh at a time: a query, its 1s timeout, then the next refresh ~1s later.
        self.assertLessEqual(self.dns.queries - queries_before, 4)
        self.assertGreaterEqual(metric(self.admin, "ringlb_dns_failures_total"), 1)
        self.assertEqual(names(port, 4), {"one": 4})
        status, _ = who(port)
        self.assertEqual(status, 200)

    def test_a_successful_empty_answer_empties_the_set(self):
        one = self.named("one")
        self.dns.set({"app.test": {"A": ["127.0.0.1"]}})
        port = self.start(['name = "app.test"', f"port = {one.port}", 'refresh = "1s"'])
        self.wait_names(port, {"one"})
        self.dns.set({"app.test": {}})  # NOERROR, no records
        self.wait_names(port, {"503"}, count=2)
        self.assertEqual(metric(self.admin, "ringlb_dns_failures_total"), 0)
        self.dns.set({"app.test": {"A": ["127.0.0.1"]}})
        self.wait_names(port, {"one"})
        self.dns.set({})  # NXDOMAIN: the name is gone, which empties the set too
        self.wait_names(port, {"503"}, count=2)

    def test_a_ttl_shorter_than_refresh_wins(self):
        one, two = self.named("one"), self.named("two")
        self.dns.set(self.srv_table((1, one)), ttl=1)
        port = self.start([f'srv = "{SRV}"', 'refresh = "60s"'])
        self.wait_names(port, {"one"})
        self.dns.set(self.srv_table((1, two)), ttl=1)
        self.wait_names(port, {"two"}, timeout=4.0)  # refresh alone would wait a minute

    def test_a_huge_answer_comes_over_tcp(self):
        self.dns.set({SRV: {"SRV": [[0, 1, 20000 + i, "b.app.test"] for i in range(1000)]},
                      "b.app.test": {"A": ["127.0.0.1"]}})
        self.start([f'srv = "{SRV}"', 'refresh = "1s"'])
        self.assertTrue(wait_for(lambda: metric(self.admin, "ringlb_dns_backends") == 1000, 8.0),
                        f"backends: {metric(self.admin, 'ringlb_dns_backends')}")

    def test_zero_ttl_is_floored(self):
        one = self.named("one")
        self.dns.set(self.srv_table((1, one)), ttl=0)
        self.start([f'srv = "{SRV}"', 'refresh = "5s"'])
        time.sleep(3.0)
        lookups = metric(self.admin, "ringlb_dns_lookups_total")
        self.assertGreaterEqual(lookups, 2)  # the TTL of 0 shortened the 5s refresh ...
        self.assertLessEqual(lookups, 5)     # ... to the 1s floor, not a busy loop

    def test_a_reload_keeps_the_answer_and_a_removed_table_its_backends(self):
        one, two = self.named("one"), self.named("two")
        self.dns.set(self.srv_table((1, one)))
        port = free_port()
        lines = [f'srv = "{SRV}"', 'refresh = "1s"', 'timeout = "300ms"',
                 f'resolvers = ["{self.dns.address}"]']
        self.start_ringlb(dns_config(port, self.admin, lines), port)
        self.wait_names(port, {"one"})
        self.dns.mode = "silent"  # the reload cannot look again: the last answer must carry over
        self.ringlb.send_signal(signal.SIGHUP)
        self.ringlb.wait_for_log("configuration reloaded")
        self.assertEqual(names(port, 4), {"one": 4})
        path = self.write_config(dns_config(port, self.admin, lines,
                                            backends=[f"127.0.0.1:{two.port}"]).replace(
            "[pools.app.dns]\n" + "\n".join(lines) + "\n", ""))
        self.assertNotIn("[pools.app.dns]", open(path).read())
        start = self.ringlb.log_size()
        self.ringlb.send_signal(signal.SIGHUP)
        self.ringlb.wait_for_log("configuration reloaded", start=start)
        self.wait_names(port, {"two"})  # the DNS backends went with their table

    def test_check_refuses_what_the_server_refuses(self):
        from harness import run_ringlb
        path = self.write_config(dns_config(free_port(), self.admin,
                                            ['name = "app.test"', 'srv = "_http._tcp.app.test"']))
        result = run_ringlb("--check", "-c", path)
        self.assertEqual(result.returncode, 1)
        self.assertIn("give either 'name'", result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
