# Shared pieces for the ringlb integration tests: the test base (a temp dir, backends and a
# ringlb that are always cleaned up), the l4 config builder and diagnostics parsing. Every
# helper of harness_sockets, harness_host, harness_backends and harness_process is re-exported
# here, so `from harness import X` keeps working. Python 3.11 stdlib only.
from __future__ import annotations

import os
import pwd
import re
import socket
import sys
import tempfile
import unittest

from harness_sockets import (DEFAULT_TIMEOUT, HOST, connect, echo_roundtrip, recv_exact, recv_line,
                             recv_until_eof, wait_closed)
from harness_host import (can_connect, connection_refused, free_port, is_listening,
                          kernel_queued_bytes, listener_metric, rss_bytes, wait_listener_metric,
                          wait_until, wait_until_stalled, write_config)
from harness_backends import (BlackholeListener, EchoBackend, HalfCloseBackend, NamedBackend,
                              _ThreadedServer, _echo)
from harness_process import Ringlb, ringlb_bin, run_ringlb, source_dir


def runtime_user_lines() -> list[str]:
    """`user = "NAME"` naming whoever runs the tests, for a config's [runtime] table.

    ringlb refuses to run as root unless runtime.user says so, and a user other than the
    current one cannot be switched to without root; naming the current user works for both.
    Empty when the uid has no passwd entry (then the tests do not run as root either).
    """
    try:
        return [f'user = "{pwd.getpwuid(os.geteuid()).pw_name}"']
    except KeyError:
        return []


def l4_config(port: int, backends, *, balance: str = "round_robin", grace: str = "2s",
              client_idle: str | None = None, connect_timeout: str | None = None,
              workers: int = 1) -> str:
    """The minimal one-listener tcp config; `backends` holds ports or (port, weight) pairs."""
    lines = [
        "[runtime]", f"workers = {workers}", f'grace_period = "{grace}"', *runtime_user_lines(),
        "", "[log]", 'level = "info"', 'access = "off"', "",
        "[listeners.l4]", f'bind = "{HOST}:{port}"', 'protocol = "tcp"', 'pool = "app"', "",
    ]
    if client_idle:
        lines += ["[listeners.l4.timeouts]", f'client_idle = "{client_idle}"', ""]
    lines += ["[pools.app]", f'balance = "{balance}"', "backends = ["]
    for backend in backends:
        port_, weight = backend if isinstance(backend, tuple) else (backend, None)
        weight_part = "" if weight is None else f", weight = {weight}"
        lines.append(f'  {{ address = "{HOST}:{port_}"{weight_part} }},')
    lines.append("]")
    if connect_timeout:
        lines += ["", "[pools.app.timeouts]", f'connect = "{connect_timeout}"']
    return "\n".join(lines) + "\n"


class RinglbTestCase(unittest.TestCase):
    """Gives each test a temp dir, backends and a ringlb that are always cleaned up.

    Skips when RINGLB_BIN is unset (running the files by hand without a build); fails when it
    is set but not executable, so a broken build is never reported as a pass.
    """

    def setUp(self):
        binary = ringlb_bin()
        if not binary:
            self.skipTest("RINGLB_BIN is not set")
        self.assertTrue(os.access(binary, os.X_OK), f"RINGLB_BIN={binary} is not executable")
        tmp = tempfile.TemporaryDirectory(prefix="ringlb-it-")
        self.addCleanup(tmp.cleanup)
        self.tmpdir = tmp.name
        self.ringlb: Ringlb | None = None

    def backend(self, cls, *args, **kwargs):
        server = cls(*args, **kwargs)
        self.addCleanup(server.close)
        return server

    def client(self, port: int, timeout: float = DEFAULT_TIMEOUT) -> socket.socket:
        sock = connect(port, timeout)
        self.addCleanup(sock.close)
        return sock

    def write_config(self, text: str) -> str:
        return write_config(self.tmpdir, text)

    def start_ringlb(self, config_text: str, port: int, probe: str = "listen",
                     env: dict[str, str] | None = None) -> Ringlb:
        path = self.write_config(config_text)
        self.ringlb = Ringlb(path, self.tmpdir, env)
        self.addCleanup(self._stop_ringlb, self.ringlb)
        return self.ringlb.start(port, probe=probe)

    def _stop_ringlb(self, proc: Ringlb):
        if self._has_failed():
            print(f"\n{self.id()}\n{proc.log_tail()}", file=sys.stderr)
        proc.cleanup()

    def _has_failed(self) -> bool:
        """True once this test has a recorded failure or error (read from the unittest result)."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        problems = getattr(result, "failures", []) + getattr(result, "errors", [])
        return any(test is self for test, _ in problems)

    def assertExits(self, code: int, within: float):
        """ringlb exits with `code` within `within` seconds."""
        got = self.ringlb.wait_exit(within)
        self.assertIsNotNone(got, f"ringlb still running after {within}s")
        self.assertEqual(got, code, f"ringlb exit code\n{self.ringlb.log_tail()}")


def diagnostic_lines(text: str, path: str) -> list[tuple[int, int, str]]:
    """(line, column, message) of every `PATH:LINE:COL: message` in `text` (not warnings)."""
    pattern = re.compile(re.escape(path) + r":(\d+):(\d+): (.*)")
    found = []
    for match in pattern.finditer(text):
        if not match.group(3).startswith("warning:"):
            found.append((int(match.group(1)), int(match.group(2)), match.group(3)))
    return found
