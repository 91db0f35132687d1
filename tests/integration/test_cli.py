# The command line a user types: --check with its FILE:LINE:COL diagnostics, --version, --help,
# bad arguments (exit 1), and a listen port already taken (exit 2, naming the address).
import re
import socket
import subprocess
import unittest

from harness import RinglbTestCase, free_port, l4_config, run_ringlb, source_dir

# Three independent mistakes, each on a line the test knows.
THREE_ERRORS = """\
[runtime]
workers = 1
grace_period = "10 parsecs"

[log]
level = "info"
access = "off"

[listeners.l4]
bind = "127.0.0.1:{port}"
protocol = "tcp"
pool = "nope"

[pools.app]
balanse = "round_robin"
backends = [ {{ address = "127.0.0.1:{backend}" }} ]
"""
BAD_DURATION_LINE, UNKNOWN_POOL_LINE, TYPO_LINE = 3, 12, 15


def error_lines(stderr: str, path: str) -> dict[int, str]:
    """{line: message} of the `PATH:LINE:COL: message` lines that start a line (no warnings)."""
    pattern = re.compile("^" + re.escape(path) + r":(\d+):(\d+): (.*)$", re.MULTILINE)
    found = {}
    for match in pattern.finditer(stderr):
        if not match.group(3).startswith("warning:"):
            found.setdefault(int(match.group(1)), match.group(3))
    return found


class CheckTest(RinglbTestCase):
    def valid_config(self, port=None) -> str:
        return self.write_config(l4_config(port or free_port(), [free_port()]))

    def test_check_valid_file_prints_ok_and_exits_0(self):
        result = run_ringlb("--check", "-c", self.valid_config())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("configuration OK", result.stdout)

    def test_check_does_not_bind_the_listen_port(self):
        with socket.socket() as taken:
            port = free_port()
            taken.bind(("127.0.0.1", port))
            taken.listen(1)
            result = run_ringlb("--check", "-c", self.valid_config(port))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("configuration OK", result.stdout)

    def test_check_reports_every_error_with_its_line(self):
        path = self.write_config(THREE_ERRORS.format(port=free_port(), backend=free_port()))
        result = run_ringlb("--check", "-c", path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertNotIn("configuration OK", result.stdout)
        errors = error_lines(result.stderr, path)
        self.assertEqual(sorted(errors), [BAD_DURATION_LINE, UNKNOWN_POOL_LINE, TYPO_LINE],
                         result.stderr)
        self.assertIn("did you mean 'balance'", errors[TYPO_LINE])
        self.assertIn("nope", errors[UNKNOWN_POOL_LINE])

    def test_check_missing_file_exits_1_naming_it(self):
        path = f"{self.tmpdir}/does-not-exist.toml"
        result = run_ringlb("--check", "-c", path)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(path, result.stderr)
        self.assertNotIn("configuration OK", result.stdout)

    def test_bundled_example_config_passes_check(self):
        example = source_dir() / "config" / "example.toml"
        self.assertTrue(example.is_file(), f"{example} is missing")
        result = run_ringlb("--check", "-c", str(example))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("configuration OK", result.stdout)


class CommandLineTest(RinglbTestCase):
    def test_version_exits_0_and_names_liburing(self):
        result = run_ringlb("--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("liburing", result.stdout.lower())

    def test_help_exits_0_and_shows_usage(self):
        result = run_ringlb("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("--check", result.stdout)

    def test_no_arguments_exits_1(self):
        self.assertEqual(self.run_bounded().returncode, 1)

    def test_unknown_option_exits_1(self):
        self.assertEqual(self.run_bounded("--no-such-option").returncode, 1)

    def run_bounded(self, *args) -> subprocess.CompletedProcess:
        try:
            return run_ringlb(*args, timeout=5)
        except subprocess.TimeoutExpired:
            self.fail(f"ringlb {' '.join(args)} still running after 5 s")


class PortInUseTest(RinglbTestCase):
    def test_port_in_use_exits_2_naming_the_address(self):
        port = free_port()
        path = self.write_config(l4_config(port, [free_port()]))
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", port))
            taken.listen(1)
            try:
                result = run_ringlb("-c", path, timeout=10)
            except subprocess.TimeoutExpired:
                self.fail("ringlb kept running although its port was taken")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(f"127.0.0.1:{port}", result.stderr)
        self.assertIn("in use", result.stderr)


if __name__ == "__main__":
    unittest.main()
