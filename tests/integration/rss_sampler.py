# RSS sampling for the memory checks of the integration tests: a thread that reads a process's
# VmRSS until stopped and keeps the peak. Python 3.11 stdlib only.
from __future__ import annotations

import threading

from harness_host import rss_bytes


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds in a thread until stop()."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid = pid
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(rss_bytes(self.pid))
            except OSError:
                return
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    @property
    def peak(self) -> int:
        return max(self.samples) if self.samples else 0
