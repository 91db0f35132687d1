# Running as a service: the systemd notification protocol read from a real AF_UNIX datagram
# socket (READY once listening, RELOADING/READY around reloads good and bad, STOPPING, STATUS),
# SIGUSR1 reopening a rotated access log, and who the proxy runs as (runtime.user): the switch
# from root after binding, and the starts that are refused.
import os
import pwd
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import (RinglbTestCase, diagnostic_lines, free_port, is_listening, ringlb_bin,
                     run_ringlb, wait_until, write_config)
from http_harness import HttpBackend, HttpTestCase, get, http_config


class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's: collects what ringlb notifies."""

    def __init__(self, directory: str):
        self.path = str(Path(directory) / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)  # reachable after a switch to another user too
        self.messages: list[dict[str, str]] = []

    def close(self):
        self.sock.close()

    def next(self, timeout: float = 5.0) -> dict[str, str]:
        """The next datagram as {VARIABLE: value}; fails the wait with TimeoutError."""
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536).decode()
        message = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
        self.messages.append(message)
        return message

    def until(self, variable: str, timeout: float = 5.0) -> tuple[dict[str, str], list[dict]]:
        """Reads until a datagram sets `variable`; returns it and every datagram read."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {variable} within {timeout}s; got {seen}")
            message = self.next(remaining)
            seen.append(message)
            if variable in message:
                return message, seen


class NotifyTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.notify = NotifySocket(self.tmpdir)
        self.addCleanup(self.notify.close)
        self.backends = [self.backend(HttpBackend, f"b{i}") for i in range(3)]
        self.port = free_port()

    def config(self, count: int) -> str:
        return http_config(self.port, [b.port for b in self.backends[:count]])

    def start(self):
        self.start_ringlb(self.config(2), self.port, env={"NOTIFY_SOCKET": self.notify.path})

    def reload(self, text: str) -> tuple[dict[str, str], list[dict]]:
        self.write_config(text)
        self.ringlb.send_signal(signal.SIGHUP)
        return self.notify.until("READY")

    def test_ready_comes_once_listening_with_a_status_line(self):
        self.start()
        ready, seen = self.notify.until("READY")
        self.assertEqual(ready["READY"], "1")
        self.assertTrue(is_listening(self.port), "READY=1 before the listener was bound")
        self.assertEqual(ready.get("STATUS"), "1 listener, 1 pool, backends up 2/2", seen)
        self.assertEqual(get(self.port, "/ready").status, 200)

    def test_reload_is_framed_by_reloading_and_ready(self):
        self.start()
        self.notify.until("READY")
        before = time.monotonic()
        ready, seen = self.reload(self.config(3))
        reloading = seen[0]
        self.assertEqual(reloading.get("RELOADING"), "1", seen)
        stamp = int(reloading.get("MONOTONIC_USEC", "0")) / 1e6
        self.assertTrue(before - 1 <= stamp <= time.monotonic() + 1,
                        f"MONOTONIC_USEC {stamp} is not CLOCK_MONOTONIC now ({before})")
        self.assertEqual(ready.get("STATUS"), "1 listener, 1 pool, backends up 3/3", seen)

    def test_a_refused_reload_still_ends_with_ready(self):
        self.start()
        self.notify.until("READY")
        ready, seen = self.reload(self.config(3).replace("[pools.app]", "[pools.app]\nbogus = 1"))
        self.assertEqual(seen[0].get("RELOADING"), "1", seen)
        self.assertEqual(ready.get("STATUS"),
                         "1 listener, 1 pool, backends up 2/2; last reload failed, see the log")
        self.assertEqual(get(self.port, "/still-serving").status, 200)

    def test_stop_sends_stopping(self):
        self.start()
        self.notify.until("READY")
        self.ringlb.send_signal(signal.SIGTERM)
        stopping, _ = self.notify.until("STOPPING")
        self.assertEqual(stopping["STOPPING"], "1")
        self.assertExits(0, within=3)

    def test_an_unreachable_notify_socket_only_warns(self):
        missing = str(Path(self.tmpdir) / "nobody-listens.sock")
        self.start_ringlb(self.config(2), self.port, env={"NOTIFY_SOCKET": missing})
        self.ringlb.wait_for_log("cannot notify systemd")
        self.assertEqual(get(self.port, "/anyway").status, 200)


class AccessLogReopenTest(HttpTestCase):
    def test_sigusr1_reopens_a_renamed_access_log(self):
        app = self.backend(HttpBackend, "app")
        log = Path(self.tmpdir) / "access.log"
        rotated = Path(self.tmpdir) / "access.log.1"
        port = self.start_http([app.port], access_log=str(log))
        self.assertEqual(get(port, "/before-rotation").status, 200)
        self.assertTrue(wait_until(lambda: "/before-rotation" in self.text(log), 2.0))
        os.rename(log, rotated)  # what logrotate does before its postrotate script
        self.assertEqual(get(port, "/while-renamed").status, 200)
        self.assertTrue(wait_until(lambda: "/while-renamed" in self.text(rotated), 2.0),
                        "until SIGUSR1 lines go to the renamed file")
        self.ringlb.send_signal(signal.SIGUSR1)
        self.assertTrue(wait_until(log.exists, 2.0), "no new access log after SIGUSR1")
        self.assertEqual(get(port, "/after-reopen").status, 200)
        self.assertTrue(wait_until(lambda: "/after-reopen" in self.text(log), 2.0),
                        f"new file: {self.text(log)!r}")
        self.assertNotIn("/after-reopen", self.text(rotated))
        self.assertNotIn("/before-rotation", self.text(log))

    @staticmethod
    def text(path: Path) -> str:
        try:
            return path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def status_fields(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


def privileged_free_port() -> int | None:
    """A port below 1024 that 127.0.0.1 can bind now (root only), or None."""
    for port in range(881, 1000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    return None


@unittest.skipUnless(os.geteuid() == 0, "switching users needs root: run the suite as root "
                                        "(CI does) to test the privilege drop")
class PrivilegeDropTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        os.chmod(self.tmpdir, 0o755)  # the switched-to user re-reads the file on SIGHUP
        self.nobody = pwd.getpwnam("nobody")
        self.app = self.backend(HttpBackend, "app")

    def config(self, port: int, user: str = "nobody", workers: int = 2) -> str:
        text = http_config(port, [self.app.port], workers=workers)
        text = "\n".join(line for line in text.splitlines() if not line.startswith("user = "))
        return text.replace("[runtime]", f'[runtime]\nuser = "{user}"', 1)

    def test_started_as_root_it_binds_then_runs_as_the_user(self):
        port = free_port()
        self.start_ringlb(self.config(port), port)
        self.ringlb.wait_for_log("running as user nobody")
        status = status_fields(self.ringlb.pid)
        uid, gid = str(self.nobody.pw_uid), str(self.nobody.pw_gid)
        self.assertEqual(status["Uid"].split(), [uid] * 4, status["Uid"])
        self.assertEqual(status["Gid"].split(), [gid] * 4, status["Gid"])
        self.assertNotIn("0", status["Groups"].split(), "root's groups were kept")
        self.assertEqual(int(status["CapEff"], 16), 1 << 10, "only CAP_NET_BIND_SERVICE stays")
        self.assertEqual(status["NoNewPrivs"], "1")
        # The workers' rings were created after the switch: they must still proxy.
        for i in range(4):
            self.assertEqual(get(port, f"/as-nobody/{i}").status, 200)
        for task in Path(f"/proc/{self.ringlb.pid}/task").iterdir():
            self.assertEqual(status_fields(int(task.name))["Uid"].split()[0], uid,
                             f"thread {task.name} is not running as nobody")

    def test_a_reload_after_the_switch_can_still_bind_a_low_port(self):
        port, low = free_port(), privileged_free_port()
        if low is None:
            self.skipTest("no free port below 1024 on 127.0.0.1")
        self.start_ringlb(self.config(port), port)
        extra = (f'\n[listeners.low]\nbind = "127.0.0.1:{low}"\nprotocol = "http"\n'
                 f'pool = "app"\n')
        self.write_config(self.config(port) + extra)
        mark = self.ringlb.log_size()
        self.ringlb.send_signal(signal.SIGHUP)
        self.ringlb.wait_for_log("configuration reloaded", start=mark)
        self.assertEqual(get(low, "/low-port").status, 200)

    def test_root_without_runtime_user_is_refused(self):
        port = free_port()
        text = self.config(port).replace('user = "nobody"\n', "")
        result = run_ringlb("-c", self.write_config(text), timeout=10)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("refusing to run as root without runtime.user", result.stderr)
        self.assertFalse(is_listening(port), "a refused start bound its listener")

    def test_explicit_root_stays_root_with_a_warning(self):
        port = free_port()
        self.start_ringlb(self.config(port, user="root"), port)
        self.ringlb.wait_for_log('running as root, as runtime.user = "root" asks')
        self.assertEqual(status_fields(self.ringlb.pid)["Uid"].split()[0], "0")

    def test_unknown_user_is_refused(self):
        port = free_port()
        result = run_ringlb("-c", self.write_config(self.config(port, user="no-such-user-x")))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn('runtime.user = "no-such-user-x": no such user', result.stderr)


class NotRootTest(RinglbTestCase):
    """Without root, runtime.user may only name the user ringlb already runs as."""

    def run_unprivileged(self, text: str) -> subprocess.CompletedProcess:
        if os.geteuid() != 0:
            return run_ringlb("-c", self.write_config(text), timeout=10)
        # As root: run it as nobody, from a directory nobody can read.
        shared = tempfile.TemporaryDirectory(prefix="ringlb-nobody-")
        self.addCleanup(shared.cleanup)
        os.chmod(shared.name, 0o755)
        path = write_config(shared.name, text)
        os.chmod(path, 0o644)
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                   ringlb_bin(), "-c", path]
        probe = subprocess.run(command[:5] + ["--version"], capture_output=True, timeout=10)
        if probe.returncode != 0:
            self.skipTest(f"nobody cannot run {ringlb_bin()} (a parent directory is not "
                          f"world-executable)")
        return subprocess.run(command, capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL)

    def text(self, port: int, user: str) -> str:
        return (f'[runtime]\nworkers = 1\nuser = "{user}"\n[log]\naccess = "off"\n'
                f'[listeners.web]\nbind = "127.0.0.1:{port}"\nprotocol = "tcp"\npool = "app"\n'
                f'[pools.app]\nbackends = [{{ address = "127.0.0.1:{free_port()}" }}]\n')

    def test_another_user_is_refused_without_root(self):
        port = free_port()
        result = self.run_unprivileged(self.text(port, "root"))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("only root can switch users", result.stderr)
        self.assertFalse(is_listening(port))

    def test_check_accepts_runtime_user(self):
        path = self.write_config(self.text(free_port(), "ringlb-user-that-need-not-exist"))
        result = run_ringlb("--check", "-c", path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(diagnostic_lines(result.stderr, path), [])


if __name__ == "__main__":
    unittest.main()
