# A keep-alive client is not closed because the worker's buffer ring ran dry. Under load (wrk,
# 2,000 connections, issue 19's l7many) receives keep finding the ring empty and are parked until
# a buffer comes back. A backend receive armed before the request went out (a new connection
# listens at once) could be parked while the request's send completion armed a second one; the
# worker's retry of the parked one then armed a third, sometimes after the response had ended.
# That receive kept the backend connection busy at the end of the exchange, and ringlb closed the
# client's connection right after a response that had said keep-alive: wrk counted read errors.
import os
import re
import shutil
import subprocess
import unittest

from harness import HOST, Ringlb, RinglbTestCase, free_port, runtime_user_lines
from http_harness import http_config

CLIENTS = 200
REQUESTS = 20_000


def backend_config(admin_port: int, idle_port: int) -> str:
    """A second ringlb whose admin server is the backend: it answers GET /ready and closes the
    connection, so each request needs a new backend connection, and it does so at thousands a
    second, which the Python backends of the other tests do not reach. (Its one listener only
    makes the config valid.)"""
    return "\n".join([
        "[runtime]", "workers = 1", *runtime_user_lines(), "[log]", 'access = "off"',
        "[admin]", f'listen = "{HOST}:{admin_port}"',
        "[listeners.unused]", f'bind = "{HOST}:{idle_port}"', 'protocol = "tcp"', 'pool = "none"',
        "[pools.none]", f'backends = [ {{ address = "{HOST}:{free_port()}" }} ]',
    ]) + "\n"


@unittest.skipUnless(shutil.which("h2load"), "h2load (nghttp2-client) is not installed")
class KeepAliveBesideAnEmptyRingTest(RinglbTestCase):
    def start_backend(self) -> int:
        admin_port, idle_port = free_port(), free_port()
        path = os.path.join(self.tmpdir, "backend.toml")
        with open(path, "w") as config:
            config.write(backend_config(admin_port, idle_port))
        log_dir = os.path.join(self.tmpdir, "backend")
        os.mkdir(log_dir)
        backend = Ringlb(path, log_dir)
        self.addCleanup(backend.cleanup)
        backend.start(admin_port)
        return admin_port

    def test_keep_alive_clients_stay_open_while_receives_wait_for_buffers(self):
        backend_port = self.start_backend()
        port = free_port()
        # 4 receive buffers (a test-only lever) for 200 busy connections: the ring is empty
        # most of the time, as the default 512 are at 2,000 connections.
        self.start_ringlb(http_config(port, [backend_port], workers=1), port,
                          env={"RINGLB_LEVER_RECEIVE_BUFFERS": "4"})
        run = subprocess.run(["h2load", "--h1", "-c", str(CLIENTS), "-n", str(REQUESTS),
                              f"http://{HOST}:{port}/ready"],
                             capture_output=True, text=True, timeout=120)
        summary = re.search(r"requests: .*? (\d+) succeeded, \d+ failed, (\d+) errored", run.stdout)
        self.assertIsNotNone(summary, f"h2load printed no summary:\n{run.stdout}{run.stderr}")
        succeeded, errored = int(summary.group(1)), int(summary.group(2))
        # errored: requests lost with their connection, which ringlb closed or reset. (A 502
        # when the backend's accept queue overflows is a failure, not an error: a proxy's answer.)
        self.assertEqual(errored, 0, f"ringlb closed keep-alive connections under requests:\n"
                                     f"{run.stdout}")
        self.assertGreater(succeeded, REQUESTS * 0.9, f"too few requests answered:\n{run.stdout}")


if __name__ == "__main__":
    unittest.main()
