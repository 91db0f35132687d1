# Signals on a running ringlb: SIGTERM drains open tunnels until they end or grace_period
# passes, SIGHUP reloads the file (or keeps the old config when the file is broken), and a
# second SIGINT stops at once.
import signal
import time
import unittest

from harness import (EchoBackend, NamedBackend, RinglbTestCase, connection_refused,
                     diagnostic_lines, echo_roundtrip, free_port, is_listening, l4_config,
                     recv_line, wait_closed, wait_until)


class StopTest(RinglbTestCase):
    def start_with_tunnel(self, grace: str):
        """ringlb in front of an echo backend, and one open, working tunnel through it."""
        self.port = free_port()
        self.echo = self.backend(EchoBackend)
        self.start_ringlb(l4_config(self.port, [self.echo.port], grace=grace), self.port)
        tunnel = self.client(self.port)
        self.assertEqual(echo_roundtrip(tunnel, b"before"), b"before")
        return tunnel

    def assertStopsAccepting(self):
        if wait_until(lambda: connection_refused(self.port), 1.0):
            return
        state = ("its listening socket is still open, so connects complete and then hang"
                 if is_listening(self.port) else "connects are not refused")
        self.fail(f"1 s after the stop signal {state}")

    def test_sigterm_drains_open_tunnel_then_exits_0(self):
        tunnel = self.start_with_tunnel(grace="10s")
        stop_sent = time.monotonic()
        self.ringlb.send_signal(signal.SIGTERM)
        self.assertStopsAccepting()
        for i in range(3):
            message = f"during drain {i}".encode()
            self.assertEqual(echo_roundtrip(tunnel, message), message)
        self.assertTrue(self.ringlb.alive(), "ringlb exited while a tunnel was still open")
        tunnel.close()
        self.assertExits(0, within=3)
        self.assertLess(time.monotonic() - stop_sent, 8, "exit waited for grace_period")

    def test_grace_expiry_closes_idle_tunnel_and_exits_0(self):
        tunnel = self.start_with_tunnel(grace="1s")
        stop_sent = time.monotonic()
        self.ringlb.send_signal(signal.SIGTERM)
        self.assertTrue(wait_closed(tunnel, 3.0), "tunnel still open 3 s after SIGTERM")
        closed_after = time.monotonic() - stop_sent
        self.assertGreaterEqual(closed_after, 0.8, "tunnel closed before grace_period")
        self.assertExits(0, within=max(0.5, 3.0 - closed_after))

    def test_second_sigint_stops_at_once(self):
        tunnel = self.start_with_tunnel(grace="30s")
        self.ringlb.send_signal(signal.SIGINT)
        self.assertStopsAccepting()
        self.assertEqual(echo_roundtrip(tunnel, b"draining"), b"draining")
        self.ringlb.send_signal(signal.SIGINT)
        self.assertExits(0, within=2)
        self.assertTrue(wait_closed(tunnel, 1.0), "tunnel still open after ringlb exited")


class ReloadTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.a = self.backend(NamedBackend, "A")
        self.b = self.backend(NamedBackend, "B")
        self.start_ringlb(l4_config(self.port, [self.a.port]), self.port)

    def picked(self) -> str:
        """Name of the backend a new connection reaches."""
        sock = self.client(self.port)
        name = recv_line(sock, timeout=5).decode().strip()
        sock.close()
        return name

    def reload(self, text: str, expect: str) -> int:
        """Writes `text`, sends SIGHUP, waits for a log line with `expect` written after it.

        Returns the log offset at the signal, to look at what the reload wrote.
        """
        self.write_config(text)
        mark = self.ringlb.log_size()
        self.ringlb.send_signal(signal.SIGHUP)
        self.ringlb.wait_for_log(expect, timeout=5, start=mark)
        return mark

    def broken(self, old: str, new: str) -> tuple[str, int]:
        """The config switched to backend B with line `old` replaced; and that line's number."""
        lines = l4_config(self.port, [self.b.port]).splitlines()
        index = lines.index(old)
        lines[index] = new
        return "\n".join(lines) + "\n", index + 1

    def assertFailedReloadKeepsA(self, mark: int) -> tuple[str, list]:
        """Old config still serves; returns the log since `mark` and its diagnostics."""
        self.assertTrue(self.ringlb.alive())
        self.assertEqual([self.picked() for _ in range(3)], ["A", "A", "A"])
        self.assertEqual(self.b.connections, 0)
        log = self.ringlb.log()[mark:]
        self.assertNotIn("configuration reloaded", log)
        return log, diagnostic_lines(log, self.ringlb.config_path)

    def test_reload_sends_new_connections_to_new_backend(self):
        old = self.client(self.port)
        self.assertEqual(recv_line(old, timeout=5), b"A\n")
        self.reload(l4_config(self.port, [self.b.port]), "configuration reloaded")
        self.assertEqual([self.picked() for _ in range(3)], ["B", "B", "B"])
        self.assertEqual(echo_roundtrip(old, b"old tunnel"), b"old tunnel")
        self.assertEqual(self.a.connections, 1)

    def test_reload_with_syntax_error_keeps_old_config(self):
        text, line = self.broken('level = "info"', 'level = "info')
        log, diagnostics = self.assertFailedReloadKeepsA(self.reload(text, "reload failed"))
        self.assertIn(line, [d[0] for d in diagnostics], f"no FILE:{line}:COL diagnostic in\n{log}")

    def test_reload_with_unknown_key_keeps_old_config_then_recovers(self):
        text, line = self.broken('balance = "round_robin"', 'balanse = "round_robin"')
        log, diagnostics = self.assertFailedReloadKeepsA(self.reload(text, "reload failed"))
        on_line = [d for d in diagnostics if d[0] == line]
        self.assertTrue(on_line, f"no FILE:{line}:COL diagnostic in\n{log}")
        self.assertIn("did you mean 'balance'", on_line[0][2])
        self.reload(l4_config(self.port, [self.b.port]), "configuration reloaded")
        self.assertEqual(self.picked(), "B")


if __name__ == "__main__":
    unittest.main()
