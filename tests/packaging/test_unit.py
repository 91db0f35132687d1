# The unit and its companions, checked with systemd's tools without a running systemd: the
# security exposure score (the goal is 2.0 or below), `systemd-analyze verify`, a system call
# filter that still allows io_uring, the sysusers.d and tmpfiles.d files applied to a scratch
# root, the packaged configuration, and the man page. Skips only when a tool is missing, saying
# which package provides it (scripts/install-deps.sh installs them).
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

SCORE_GOAL = 2.0


def source_dir() -> Path:
    env = os.environ.get("RINGLB_SOURCE_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2]


PACKAGING = source_dir() / "packaging"
UNIT = PACKAGING / "ringlb.service"


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, **kwargs)


def require(tool: str, package: str):
    if shutil.which(tool) is None:
        raise unittest.SkipTest(f"{tool} is missing: apt-get install {package} "
                                f"(scripts/install-deps.sh does)")


def unit_settings(name: str) -> list[str]:
    """Every value of `name=` in the unit, in order."""
    prefix = name + "="
    return [line[len(prefix):] for line in UNIT.read_text().splitlines()
            if line.startswith(prefix)]


class SecurityTest(unittest.TestCase):
    def test_exposure_score_meets_the_goal(self):
        require("systemd-analyze", "systemd")
        result = run("systemd-analyze", "security", "--offline=yes", "--no-pager", str(UNIT))
        self.assertEqual(result.returncode, 0, result.stderr)
        match = re.search(r"Overall exposure level for ringlb\.service: (\d+\.\d+)",
                          result.stdout)
        self.assertIsNotNone(match, result.stdout[-2000:])
        score = float(match.group(1))
        print(f"\nsystemd-analyze security --offline=yes packaging/ringlb.service: {score}")
        self.assertLessEqual(score, SCORE_GOAL, "exposure above the goal:\n" + "\n".join(
            line for line in result.stdout.splitlines() if line.startswith("✗")))


class VerifyTest(unittest.TestCase):
    def test_systemd_analyze_verify_is_clean(self):
        """verify loads the unit as systemd would: every setting parses (a misspelt system call
        or a bad boolean is only a warning, so any output fails), the commands exist and the
        man page named in Documentation= opens."""
        require("systemd-analyze", "systemd")
        require("man", "man-db")
        binary = os.environ.get("RINGLB_BIN")
        if not binary:
            self.skipTest("RINGLB_BIN is not set")
        with tempfile.TemporaryDirectory(prefix="ringlb-unit-") as tmp:
            # /usr/sbin/ringlb is not installed here: point the commands at the build's binary.
            unit = Path(tmp) / "ringlb.service"
            unit.write_text(UNIT.read_text().replace("/usr/sbin/ringlb", binary))
            man8 = Path(tmp) / "man" / "man8"
            man8.mkdir(parents=True)
            shutil.copy(PACKAGING / "ringlb.8", man8)
            result = run("systemd-analyze", "verify", str(unit),
                         env={**os.environ, "MANPATH": str(Path(tmp) / "man")})
        output = (result.stdout + result.stderr).strip()
        self.assertEqual(result.returncode, 0, output)
        self.assertEqual(output, "", "systemd-analyze verify warned")

    def test_the_system_call_filter_keeps_io_uring(self):
        require("systemd-analyze", "systemd")
        io_uring = {"io_uring_setup", "io_uring_enter", "io_uring_register"}
        allowed, denied = set(), set()
        for value in unit_settings("SystemCallFilter"):
            (denied if value.startswith("~") else allowed).update(value.lstrip("~").split())
        self.assertTrue(io_uring <= allowed, f"not all named in SystemCallFilter: {allowed}")
        expanded = run("systemd-analyze", "syscall-filter", "--no-pager", *sorted(denied))
        self.assertEqual(expanded.returncode, 0, expanded.stderr)
        listed = {line.strip() for line in expanded.stdout.splitlines()}
        self.assertFalse(io_uring & listed, f"the deny list {denied} removes io_uring")
        known = run("systemd-analyze", "syscall-filter", "--no-pager")
        for name in io_uring:
            self.assertIn(f"    {name}\n", known.stdout, f"systemd does not know {name}")

    def test_the_process_can_notify_and_log(self):
        settings = {name: unit_settings(name) for name in
                    ("Type", "RestrictAddressFamilies", "ExecStartPre", "ExecReload",
                     "KillMode", "Restart", "LimitNOFILE", "User", "AmbientCapabilities",
                     "CapabilityBoundingSet", "LogsDirectory")}
        self.assertEqual(settings["Type"], ["notify"])
        self.assertIn("AF_UNIX", settings["RestrictAddressFamilies"][0].split())  # sd_notify
        self.assertEqual(settings["ExecStartPre"], ["/usr/sbin/ringlb --check -c ${CONFIG}"])
        self.assertEqual(settings["ExecReload"], ["/usr/sbin/ringlb --check -c ${CONFIG}",
                                                  "/bin/kill -HUP $MAINPID"])
        self.assertEqual(settings["KillMode"], ["mixed"])
        self.assertEqual(settings["Restart"], ["on-failure"])
        self.assertEqual(settings["LimitNOFILE"], ["1048576"])
        self.assertEqual(settings["User"], ["ringlb"])
        self.assertEqual(settings["AmbientCapabilities"], ["CAP_NET_BIND_SERVICE"])
        self.assertEqual(settings["CapabilityBoundingSet"], ["CAP_NET_BIND_SERVICE"])
        self.assertEqual(settings["LogsDirectory"], ["ringlb"])


class CompanionFilesTest(unittest.TestCase):
    def test_sysusers_and_tmpfiles_create_the_user_and_log_directory(self):
        require("systemd-sysusers", "systemd")
        require("systemd-tmpfiles", "systemd")
        with tempfile.TemporaryDirectory(prefix="ringlb-root-") as root:
            (Path(root) / "etc").mkdir()
            users = run("systemd-sysusers", f"--root={root}", str(PACKAGING / "ringlb.sysusers"))
            self.assertEqual(users.returncode, 0, users.stderr)
            passwd = (Path(root) / "etc" / "passwd").read_text()
            self.assertRegex(passwd, r"(?m)^ringlb:x:\d+:\d+:.*:/nonexistent:/usr/sbin/nologin$")
            files = run("systemd-tmpfiles", f"--root={root}", "--create",
                        str(PACKAGING / "ringlb.tmpfiles"))
            self.assertEqual(files.returncode, 0, files.stderr)
            logs = Path(root) / "var" / "log" / "ringlb"
            self.assertTrue(logs.is_dir())
            self.assertEqual(logs.stat().st_mode & 0o777, 0o750)
            uid = int(re.search(r"(?m)^ringlb:x:(\d+):", passwd).group(1))
            if os.geteuid() == 0:
                self.assertEqual(logs.stat().st_uid, uid)

    def test_packaged_config_passes_check_and_matches_the_unit(self):
        binary = os.environ.get("RINGLB_BIN")
        if not binary:
            self.skipTest("RINGLB_BIN is not set")
        config = PACKAGING / "ringlb.toml"
        result = run(binary, "--check", "-c", str(config))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("configuration OK", result.stdout)
        text = config.read_text()
        self.assertRegex(text, r'(?m)^user = "ringlb"')
        self.assertRegex(text, r'(?m)^access = "/var/log/ringlb/[^"]+\.log"')  # logrotate's glob

    def test_man_page_renders_without_warnings(self):
        require("groff", "groff-base")
        result = run("groff", "-man", "-ww", "-z", str(PACKAGING / "ringlb.8"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        page = (PACKAGING / "ringlb.8").read_text()
        for covered in ("--check", "SIGHUP", "SIGTERM", "SIGINT", "SIGUSR1", "READY=1",
                        "runtime.user", "EXIT STATUS"):
            self.assertIn(covered.replace("-", "\\-"), page, f"the man page lacks {covered}")


if __name__ == "__main__":
    unittest.main()
