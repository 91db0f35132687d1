# The ringlb binary as the integration tests run it: where it is, a one-shot run, and Ringlb, a
# started server with its log, signals, RSS and exit. Python 3.11 stdlib only.
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from harness_host import can_connect, is_listening, rss_bytes, wait_until


def ringlb_bin() -> str | None:
    return os.environ.get("RINGLB_BIN")


def source_dir() -> Path:
    env = os.environ.get("RINGLB_SOURCE_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def run_ringlb(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Runs the binary to completion (for --check, --version, ...); raises if it hangs."""
    return subprocess.run([ringlb_bin(), *args], capture_output=True, text=True,
                          errors="replace", timeout=timeout, stdin=subprocess.DEVNULL)


class Ringlb:
    """One `ringlb -c CONFIG` process in the foreground, stderr captured to a file.

    start() returns once `ready_port` accepts. cleanup() always leaves no process behind.
    """

    def __init__(self, config_path: str, log_dir: str, env: dict[str, str] | None = None):
        self.config_path = config_path
        self.env = env  # added to this process's environment
        self.stderr_path = Path(log_dir) / "ringlb.stderr"
        self.stdout_path = Path(log_dir) / "ringlb.stdout"
        self.proc: subprocess.Popen | None = None
        self._files = []

    def start(self, ready_port: int, timeout: float = 10.0, probe: str = "listen"):
        """Starts the process and waits until `ready_port` is ready.

        probe="connect" polls with TCP connects (each one is a real proxied connection);
        probe="listen" polls /proc/net/tcp for the LISTEN socket, which a connect would hit,
        without creating a connection. Both mean the kernel accepts connections on the port.
        """
        stderr = open(self.stderr_path, "wb")
        stdout = open(self.stdout_path, "wb")
        self._files = [stderr, stdout]
        env = {**os.environ, **self.env} if self.env else None
        self.proc = subprocess.Popen([ringlb_bin(), "-c", self.config_path], stdout=stdout,
                                     stderr=stderr, stdin=subprocess.DEVNULL, env=env)
        ready = is_listening if probe == "listen" else can_connect
        deadline = time.monotonic() + timeout
        while not ready(ready_port):
            if self.proc.poll() is not None:
                raise AssertionError(f"ringlb exited with {self.proc.returncode} before "
                                     f"listening on {ready_port}\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"ringlb not listening on {ready_port} after {timeout}s\n"
                                     f"{self.log_tail()}")
            time.sleep(0.02)
        return self

    def log(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        tail = self.log().splitlines()[-lines:]
        return "--- ringlb stderr (tail) ---\n" + "\n".join(tail)

    def wait_for_log(self, substring: str, timeout: float = 5.0, start: int = 0) -> str:
        """The first stderr line at or after character `start` containing `substring`."""
        found = []

        def seen():
            for line in self.log()[start:].splitlines():
                if substring in line:
                    found.append(line)
                    return True
            return False

        if not wait_until(seen, timeout, interval=0.05):
            raise AssertionError(f"no stderr line with {substring!r} after {timeout}s\n"
                                 f"{self.log_tail()}")
        return found[0]

    def log_size(self) -> int:
        """Current length of the stderr text, to search only what comes after an action."""
        return len(self.log())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss(self) -> int:
        """Current resident set size in bytes."""
        return rss_bytes(self.proc.pid)

    def send_signal(self, sig: int):
        self.proc.send_signal(sig)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code (negative = killed by that signal), or None if still running."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def cleanup(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=5)
        for f in self._files:
            f.close()
