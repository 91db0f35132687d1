# `ringlb --check` accepts only what the server accepts: for every way the server refuses a
# file at start, a table row asserts both halves. `--check` exits non-zero and names the
# offending line as FILE:LINE:COL, and `ringlb -c FILE` exits non-zero on its own, without
# hanging. A control row shows the same harness accepts a good file on both sides.
#
# What depends on the machine rather than the file (a port another program holds, a missing
# runtime.user, an unwritable log directory) is not in the table: `--check` is documented to
# check a file anywhere, e.g. on a build host or while ringlb runs (docs/choices.md).
import os
import re
import subprocess
import time
import unittest

from harness import HOST, RinglbTestCase, free_port, ringlb_bin, runtime_user_lines
from http_harness import HttpBackend, HttpConn, HttpTestCase
from tls_harness import Pki, have_openssl

MARK = "# <- refused here"
SERVER_WAIT = 8.0  # a refusal takes milliseconds; a server that accepted the file keeps running


def base(port: int, *, grace='"1s"', access='"off"', tail=()) -> str:
    """An http listener and a one-backend pool, with lines added at the end where a row needs."""
    lines = [
        "[runtime]", "workers = 1", f"grace_period = {grace}", *runtime_user_lines(),
        "", "[log]", f"access = {access}", "",
        "[listeners.web]", f'bind = "{HOST}:{port}"', 'pool = "app"', "",
        "[pools.app]", f'backends = [{{ address = "{HOST}:{free_port()}" }}]', "",
        *tail,
    ]
    return "\n".join(lines) + "\n"


def tls_listener(cert: str, key: str) -> list[str]:
    return ["", "[listeners.web.tls]", f'certificates = [{{ cert = "{cert}", key = "{key}" }}]  {MARK}']


class CheckParityTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.pki = None

    def certificate(self) -> tuple[str, str]:
        if not have_openssl():
            self.skipTest("the openssl command is needed to make certificates")
        if self.pki is None:
            self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        return self.pki.leaf("site", ["site.test"])

    # ---- the table: (name, config text) ----------------------------------------------------

    def rows(self):
        port = free_port()
        yield "certificates = []", base(port, tail=[
            "[listeners.web.tls]", f"certificates = []  {MARK}"])
        yield "a duration past int64 nanoseconds", base(port, tail=[
            "[listeners.web.timeouts]", f'client_idle = "2563000h"  {MARK}'])
        yield "a duration over the documented 576h", base(port, tail=[
            "[pools.app.timeouts]", f'response = "577h"  {MARK}'])
        yield "a health interval past int64 nanoseconds", base(port, tail=[
            "[pools.app.health]", 'check = "tcp"', f'interval = "2563000h"  {MARK}'])
        yield "a grace period past int64 nanoseconds", base(port, grace=f'"2563000h"  {MARK}')
        yield "max_header_bytes over 1 MiB", base(port, tail=[
            "[listeners.web.limits]", f'max_header_bytes = "1GiB"  {MARK}'])
        yield "duplicate listen address", base(port, tail=[
            "[listeners.again]", f'bind = "{HOST}:{port}"  {MARK}', 'pool = "app"'])
        yield "admin on a listener's address", base(port, tail=[
            "[admin]", f'listen = "{HOST}:{port}"  {MARK}'])
        yield "unknown pool", base(port, tail=[
            "[listeners.other]", f'bind = "{HOST}:{free_port()}"', f'pool = "nope"  {MARK}'])
        yield "http2 max_concurrent_streams over 1000", base(port, tail=[
            "[listeners.web.http2]", f"max_concurrent_streams = 1001  {MARK}"])
        yield "http2 initial_window under 16KiB", base(port, tail=[
            "[listeners.web.http2]", f'initial_window = "8KiB"  {MARK}'])
        yield "http2 on a tcp listener", base(port, tail=[
            "[listeners.l4]", f'bind = "{HOST}:{free_port()}"', 'protocol = "tcp"', 'pool = "app"',
            f"[listeners.l4.http2]  {MARK}", "enabled = false"])
        yield "missing certificate file", base(port, tail=tls_listener(
            os.path.join(self.tmpdir, "none.pem"), os.path.join(self.tmpdir, "none.key")))
        log_fifo = os.path.join(self.tmpdir, "access.fifo")
        os.mkfifo(log_fifo)
        yield "a FIFO as access log", base(port, access=f'"{log_fifo}"  {MARK}')
        yield "a directory as access log", base(port, access=f'"{self.tmpdir}"  {MARK}')
        yield "an admin token no client can send", base(port, tail=[
            "[admin]", f'listen = "{HOST}:{free_port()}"', f'token = " abc"  {MARK}'])
        cert, key = self.certificate()
        fifo = os.path.join(self.tmpdir, "cert.fifo")
        os.mkfifo(fifo)
        yield "a FIFO as certificate file", base(port, tail=tls_listener(fifo, key))
        yield "a directory as key file", base(port, tail=tls_listener(cert, self.tmpdir))
        other_cert, _ = self.pki.leaf("other", ["other.test"])
        yield "key not matching its certificate", base(port, tail=tls_listener(other_cert, key))
        expired_cert, expired_key = self.pki.leaf("expired", ["old.test"], days=-1)
        yield "expired certificate", base(port, tail=tls_listener(expired_cert, expired_key))
        yield "alpn offering h2 while http2 is off", base(port, tail=[
            "[listeners.web.tls]", f'certificates = [{{ cert = "{cert}", key = "{key}" }}]',
            f'alpn = ["h2", "http/1.1"]  {MARK}', "[listeners.web.http2]", "enabled = false"])
        yield "a FIFO as CA bundle", base(port, tail=[
            "[pools.app.tls]", f'ca = "{fifo}"  {MARK}'])

    # ---- the assertions --------------------------------------------------------------------

    def check_refuses(self, path: str, line: int) -> str | None:
        """None when --check refused with PATH:LINE:COL, else what went wrong."""
        try:
            result = subprocess.run([ringlb_bin(), "--check", "-c", path], capture_output=True,
                                    text=True, timeout=SERVER_WAIT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return f"--check hung for {SERVER_WAIT}s"
        if result.returncode == 0:
            return f"--check passed: {result.stdout.strip()!r}"
        if not re.search(rf"^{re.escape(path)}:{line}:\d+: ", result.stderr, re.MULTILINE):
            return f"--check exited {result.returncode} without {path}:{line}:COL: " + \
                   repr(result.stderr.strip())
        return None

    def server_refuses(self, path: str) -> str | None:
        """None when `ringlb -c PATH` exited non-zero by itself, else what went wrong."""
        proc = subprocess.Popen([ringlb_bin(), "-c", path], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _, stderr = proc.communicate(timeout=SERVER_WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return f"the server still ran after {SERVER_WAIT}s (it accepted the file or hung)"
        if proc.returncode == 0:
            return "the server exited 0"
        return None

    def test_every_start_refusal_is_a_check_error_at_its_line(self):
        failures = []
        for index, (name, text) in enumerate(self.rows()):
            with self.subTest(row=name):
                path = os.path.join(self.tmpdir, f"row{index}.toml")
                with open(path, "w") as f:
                    f.write(text)
                line = next(n for n, l in enumerate(text.splitlines(), 1) if MARK in l)
                for problem in (self.check_refuses(path, line), self.server_refuses(path)):
                    if problem:
                        failures.append(f"{name}: {problem}")
        self.assertEqual(failures, [], "\n" + "\n".join(failures))

    def test_a_good_file_passes_check_and_starts(self):
        port = free_port()
        cert, key = self.certificate()
        text = base(port, tail=["[listeners.web.tls]",
                                f'certificates = [{{ cert = "{cert}", key = "{key}" }}]'])
        result = subprocess.run([ringlb_bin(), "--check", "-c", self.write_config(text)],
                                capture_output=True, text=True, timeout=SERVER_WAIT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.start_ringlb(text, port)  # raises unless it listens


class DurationsAtTheLimitTest(HttpTestCase):
    """The longest accepted duration must not wrap a deadline: requests are answered."""

    def test_every_timeout_at_576h_still_serves(self):
        app = self.backend(HttpBackend, "app")
        port = self.start_http([app.port], header_timeout="576h", client_idle="576h",
                               connect_timeout="576h", response_timeout="576h",
                               idle_timeout="576h")
        with HttpConn(port) as conn:
            for i in range(3):  # keep-alive: the idle deadline is armed between requests
                self.assertEqual(conn.request("GET", f"/limit/{i}").status, 200)
                time.sleep(0.2)  # a wrapped deadline fires within a tick (was: EOF, or 504)


if __name__ == "__main__":
    unittest.main()
