# Bulk transfer through L4 tunnels with large receives and two buffers in flight per direction
# (docs/perf2-plan.md, levers 1 and 2): multi-MiB bodies arrive intact through a sink that
# stalls mid-body, a backend reset mid-body reaches the client, and clients that reset mid-body
# leave no buffer behind in a worker whose buffer rings are shrunk to 4 buffers each; through
# HTTP/1.1, pipelined requests after a big body and an upload followed by a request.
import hashlib
import socket
import struct
import threading
import time
import unittest

from harness import RinglbTestCase, _ThreadedServer, free_port, l4_config
from http_backend import HttpBackend
from http_client import HttpConn
from http_harness import HttpTestCase
from http_payloads import pattern_chunks, pattern_sha256

MiB = 1 << 20


class PatternBackend(_ThreadedServer):
    """Sends `size` pattern bytes (http_payloads.pattern_chunks) to each connection, then either
    closes (FIN) or, with `reset_after`, resets the connection after that many bytes."""

    def __init__(self, size: int, reset_after: int | None = None):
        self.size = size
        self.reset_after = reset_after
        super().__init__()

    def handle(self, conn):
        sent = 0
        try:
            for piece in pattern_chunks(self.size):
                if self.reset_after is not None and sent >= self.reset_after:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                conn.sendall(piece)
                sent += len(piece)
        except OSError:
            pass


def read_all(sock: socket.socket, pause_after: int = 0, pause: float = 0.0,
             timeout: float = 30.0) -> tuple[bytes, str]:
    """Reads to the end; `pause` seconds once `pause_after` bytes arrived. Returns the bytes and
    how the stream ended: "eof" or "reset"."""
    sock.settimeout(timeout)
    received = bytearray()
    paused = pause_after == 0
    while True:
        if not paused and len(received) >= pause_after:
            time.sleep(pause)
            paused = True
        try:
            data = sock.recv(1 << 16)
        except ConnectionResetError:
            return bytes(received), "reset"
        if not data:
            return bytes(received), "eof"
        received += data


def pattern_prefix(n: int) -> bytes:
    out = bytearray()
    for piece in pattern_chunks(n):
        out += piece
    return bytes(out)


class BulkTunnelTest(RinglbTestCase):
    def start_with(self, backend, env=None):
        port = free_port()
        self.start_ringlb(l4_config(port, [backend.port]), port, env=env)
        return port

    def test_16mib_download_arrives_intact_through_a_sink_that_stalls_mid_body(self):
        # The stall makes ringlb's sends to the client go short with buffers queued behind them:
        # both move to spill chunks and must go out in order once the client reads again.
        port = self.start_with(self.backend(PatternBackend, 16 * MiB))
        body, end = read_all(self.client(port, timeout=30), pause_after=2 * MiB, pause=1.5)
        self.assertEqual(end, "eof")
        self.assertEqual(len(body), 16 * MiB)
        self.assertEqual(hashlib.sha256(body).hexdigest(), pattern_sha256(16 * MiB),
                         "body corrupted")

    def test_four_concurrent_8mib_downloads_arrive_intact(self):
        port = self.start_with(self.backend(PatternBackend, 8 * MiB))
        results = [None] * 4

        def fetch(i):
            results[i] = read_all(self.client(port, timeout=30), pause_after=i * MiB, pause=0.3)

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        expected = pattern_sha256(8 * MiB)
        for body, end in results:
            self.assertEqual((end, len(body)), ("eof", 8 * MiB))
            self.assertEqual(hashlib.sha256(body).hexdigest(), expected, "body corrupted")

    def test_backend_reset_mid_body_ends_the_download_with_an_intact_prefix(self):
        port = self.start_with(self.backend(PatternBackend, 16 * MiB, reset_after=4 * MiB))
        started = time.monotonic()
        body, _ = read_all(self.client(port, timeout=15), timeout=15)
        self.assertLess(time.monotonic() - started, 10, "the download never ended")
        self.assertLessEqual(len(body), 4 * MiB)
        self.assertEqual(body, pattern_prefix(4 * MiB)[:len(body)], "prefix corrupted")

    def test_clients_resetting_mid_body_leave_no_buffer_behind(self):
        # 4 small and 4 large buffers a worker: a buffer kept by a reset session would soon leave
        # none, and the last download would hang.
        port = self.start_with(self.backend(PatternBackend, 8 * MiB),
                               env={"RINGLB_LEVER_RECEIVE_BUFFERS": "4"})
        for _ in range(12):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.recv(256 << 10)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        body, end = read_all(self.client(port, timeout=30))
        self.assertEqual((end, len(body)), ("eof", 8 * MiB))
        self.assertEqual(hashlib.sha256(body).hexdigest(), pattern_sha256(8 * MiB))


class BulkHttpTest(HttpTestCase):
    def test_pipelined_requests_after_an_8mib_body_get_their_own_answers(self):
        # The big body's last large receive may carry the start of the next response: it must
        # be parsed as that response, not forwarded as body.
        backend = self.backend(HttpBackend)
        port = self.start_http([backend.port])
        conn = HttpConn(port, timeout=30)
        self.addCleanup(conn.close)
        conn.send(b"GET /stream/8388608 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /echo?after=1 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /stream/100000 HTTP/1.1\r\nHost: a\r\n\r\n")
        big = conn.read_response(30)
        self.assertEqual(hashlib.sha256(big.body).hexdigest(), pattern_sha256(8 * MiB))
        echo = conn.read_response(10)
        self.assertEqual(echo.json()["target"], "/echo?after=1")
        small = conn.read_response(10)
        self.assertEqual(hashlib.sha256(small.body).hexdigest(), pattern_sha256(100000))

    def test_8mib_upload_arrives_intact_and_the_connection_serves_the_next_request(self):
        backend = self.backend(HttpBackend)
        port = self.start_http([backend.port])
        body = pattern_prefix(8 * MiB)
        conn = HttpConn(port, timeout=30)
        self.addCleanup(conn.close)
        echoed = conn.request("POST", "/echo", body=body).json()
        self.assertEqual((echoed["body_len"], echoed["body_sha256"]),
                         (8 * MiB, pattern_sha256(8 * MiB)))
        self.assertEqual(conn.request("GET", "/echo?next=1").json()["target"], "/echo?next=1")


if __name__ == "__main__":
    unittest.main()
