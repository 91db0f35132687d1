# Slow readers cannot starve a worker (issue 15, item 3). With workers = 1, a few hundred clients
# ask for a 50 MB response and never read (SO_RCVBUF 2048). While they sit, a fresh request is
# answered within a second, ringlb does not spin, and a client that reads slowly gets every byte
# right; through an http listener and through a tcp listener. ringlb shares 512 receive buffers
# per worker: a reader that held one for as long as it stalls would lock out everyone else.
import socket
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import RinglbTestCase, free_port, l4_config, rss_bytes
from http_harness import http_config
from starvation_harness import (StreamingBackend, cpu_percent, download, expected_body,
                                fresh_request_seconds, open_pipelining_readers,
                                open_stalled_readers, raise_fd_limit, trickle_read,
                                wait_backend_stalled)

# More stalled readers than the worker has receive buffers (512), so that one buffer held per
# reader is enough to show the starvation; small enough for CI.
STALLED = 600
# Clients that pipeline 300 KB of requests: each could pin a burst of buffers.
PIPELINING = 60
# Clients that pipeline two GETs in one write, beside 8 receive buffers (a test-only lever).
PIPELINED_PAIRS = 12
# Uploads stalled on a backend that never reads, and the RSS they may cost in all: with a
# multishot receive's burst copied out (bounded only by tcp_rmem) 20 cost 45 MB; single-shot
# receives cost 9 MB here, mostly one-time growth of the worker's pools.
UPLOADS = 20
UPLOAD_RSS_BOUND = 20 * 1000 * 1000
MAX_CPU_PERCENT = 20.0  # while nothing happens; a spinning worker uses a whole core


class SlowReaderStarvationTest(RinglbTestCase):
    @classmethod
    def setUpClass(cls):
        limit = raise_fd_limit()
        if limit < 4 * STALLED + 200:
            raise unittest.SkipTest(f"RLIMIT_NOFILE hard limit {limit} is too low")

    def start_proxy(self, protocol: str) -> tuple[int, StreamingBackend]:
        backend = self.backend(StreamingBackend)
        port = free_port()
        if protocol == "http":
            config = http_config(port, [backend.port], client_idle="60s", workers=1)
        else:
            config = l4_config(port, [backend.port], client_idle="60s", workers=1)
        self.start_ringlb(config, port)
        return port, backend

    def stall(self, port: int, backend: StreamingBackend):
        readers = open_stalled_readers(port, STALLED)
        for sock in readers:
            self.addCleanup(sock.close)
        # Whether or not ringlb lets them all reach the backend, give it time to try.
        wait_backend_stalled(backend, STALLED, timeout=8)

    def assert_not_starved(self, protocol: str):
        port, backend = self.start_proxy(protocol)
        self.stall(port, backend)
        # A request that arrives meanwhile must neither wait nor make the worker spin.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as waiting:
            waiting.sendall(b"GET / HTTP/1.1\r\nHost: fresh.test\r\n\r\n")
            cpu = cpu_percent(self.ringlb.pid, 2.0)
        latencies = [fresh_request_seconds(port, timeout=3.0) for _ in range(3)]
        answered = [t for t in latencies if t is not None]
        self.assertEqual(len(answered), 3,
                         f"{protocol}: fresh GET / not answered within 3 s beside {STALLED} "
                         f"stalled readers (latencies {latencies}; ringlb CPU {cpu:.0f}%)")
        self.assertLess(max(answered), 1.0,
                        f"{protocol}: fresh GET / took {max(answered):.2f} s beside {STALLED} "
                        f"stalled readers")
        self.assertLess(cpu, MAX_CPU_PERCENT,
                        f"{protocol}: ringlb used {cpu:.0f}% CPU while {STALLED} readers sat "
                        f"stalled (a busy loop)")
        self.assertTrue(self.ringlb.alive(), self.ringlb.log_tail())

    def assert_trickle_reader_served(self, protocol: str):
        port, backend = self.start_proxy(protocol)
        self.stall(port, backend)
        total = 256 * 1024
        start = time.monotonic()
        body = trickle_read(port, total, piece=8192, pause=0.01, timeout=10.0)
        elapsed = time.monotonic() - start
        self.assertEqual(len(body), total,
                         f"{protocol}: a slow reader got {len(body)} of {total} body bytes in "
                         f"{elapsed:.1f} s beside {STALLED} stalled readers")
        expected = expected_body(0, total)
        if body != expected:
            first = next(i for i, (a, b) in enumerate(zip(body, expected)) if a != b)
            self.fail(f"{protocol}: a slow reader got wrong bytes from body offset {first}")
        # Only the trickle reader was served meanwhile: the CPU it cost stays far from a core.
        cpu = cpu_percent(self.ringlb.pid, 2.0)
        self.assertLess(cpu, MAX_CPU_PERCENT,
                        f"{protocol}: ringlb used {cpu:.0f}% CPU while readers sat stalled")

    def test_http_stalled_readers_leave_room_for_a_fresh_request(self):
        self.assert_not_starved("http")

    def test_tcp_stalled_readers_leave_room_for_a_fresh_request(self):
        self.assert_not_starved("tcp")

    def test_http_pipelined_requests_of_non_readers_leave_room_for_a_fresh_request(self):
        """Clients that send many requests at once and read nothing: what ringlb receives from
        them while their first response stalls must not pin the shared buffers either."""
        port, backend = self.start_proxy("http")
        readers = open_pipelining_readers(port, PIPELINING, request_bytes=300_000)
        for sock in readers:
            self.addCleanup(sock.close)
        wait_backend_stalled(backend, PIPELINING, timeout=8)
        latencies = [fresh_request_seconds(port, timeout=3.0) for _ in range(3)]
        self.assertNotIn(None, latencies,
                         f"fresh GET / not answered within 3 s beside {PIPELINING} clients that "
                         f"pipeline and never read (latencies {latencies})")
        self.assertLess(max(latencies), 1.0, f"fresh GET / took {max(latencies):.2f} s")
        cpu = cpu_percent(self.ringlb.pid, 2.0)
        self.assertLess(cpu, MAX_CPU_PERCENT, f"ringlb used {cpu:.0f}% CPU meanwhile")

    def assert_transfers_survive_an_empty_buffer_ring(self, protocol: str):
        """With 2 receive buffers (a test-only lever), 16 concurrent downloads keep finding the
        ring empty: each receive that does is parked and must be resumed once a buffer comes
        back, never lost (a transfer would hang) and never retried in a loop."""
        backend = self.backend(StreamingBackend)
        port = free_port()
        env = {"RINGLB_LEVER_RECEIVE_BUFFERS": "2"}
        if protocol == "http":
            config = http_config(port, [backend.port], workers=1)
        else:
            config = l4_config(port, [backend.port], workers=1)
        self.start_ringlb(config, port, env=env)
        size = 2 * (1 << 20)
        with ThreadPoolExecutor(max_workers=16) as pool:
            bodies = list(pool.map(lambda _: download(port, size, timeout=30.0), range(16)))
        expected = expected_body(0, size)
        complete = sum(1 for body in bodies if body == expected)
        self.assertEqual(complete, 16, f"{protocol}: {complete} of 16 downloads of {size} bytes "
                                       f"arrived whole through 2 receive buffers; got "
                                       f"{[len(body) for body in bodies]} bytes")
        cpu = cpu_percent(self.ringlb.pid, 1.0)
        self.assertLess(cpu, MAX_CPU_PERCENT, f"{protocol}: ringlb used {cpu:.0f}% CPU once idle")

    def test_http_transfers_survive_an_empty_buffer_ring(self):
        self.assert_transfers_survive_an_empty_buffer_ring("http")

    def test_tcp_transfers_survive_an_empty_buffer_ring(self):
        self.assert_transfers_survive_an_empty_buffer_ring("tcp")

    def test_http_slow_trickle_reader_gets_every_byte_beside_stalled_readers(self):
        self.assert_trickle_reader_served("http")

    def test_tcp_slow_trickle_reader_gets_every_byte_beside_stalled_readers(self):
        self.assert_trickle_reader_served("tcp")

    def test_http_pipelined_pairs_do_not_wedge_a_small_buffer_ring(self):
        """Clients that each send two GETs in one write: while the first waits for its response,
        the session must not keep the client's buffer for the pipelined second one. With 8
        receive buffers and 12 such clients, every buffer would be held and no backend response
        could be received: the worker froze for good."""
        backend = self.backend(StreamingBackend)
        port = free_port()
        config = http_config(port, [backend.port], client_idle="60s", workers=1)
        self.start_ringlb(config, port, env={"RINGLB_LEVER_RECEIVE_BUFFERS": "8"})
        clients = []
        for i in range(PIPELINED_PAIRS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            self.addCleanup(sock.close)
            clients.append(sock)
        for sock in clients:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n" * 2)
        latency = fresh_request_seconds(port, timeout=3.0)
        self.assertIsNotNone(latency, f"fresh GET / not answered within 3 s beside "
                                      f"{PIPELINED_PAIRS} clients that pipeline two GETs")
        self.assertLess(latency, 1.0, f"fresh GET / took {latency:.2f} s")
        answered = 0
        deadline = time.monotonic() + 5.0
        for sock in clients:
            got = b""
            while got.count(b"HTTP/1.1 200") < 2 or not got.endswith(b"ok"):
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data = sock.recv(4096)
                except OSError:
                    break
                if not data:
                    break
                got += data
            answered += min(got.count(b"HTTP/1.1 200"), 2)
        self.assertEqual(answered, 2 * PIPELINED_PAIRS,
                         f"{answered} of {2 * PIPELINED_PAIRS} pipelined GETs answered")

    def test_http_uploads_to_a_backend_that_never_reads_stay_small(self):
        """Uploads stall on a backend that never reads: what ringlb receives from each client
        meanwhile is bounded by its own buffers, not by the kernel's socket buffers."""
        sink = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(sink.close)
        sink.bind(("127.0.0.1", 0))
        sink.listen(4096)  # the kernel completes the connects; nobody accepts or reads
        port = free_port()
        config = http_config(port, [sink.getsockname()[1]], client_idle="60s", workers=1)
        self.start_ringlb(config, port)
        time.sleep(0.3)
        before = rss_bytes(self.ringlb.pid)
        chunk = b"u" * 65536
        uploads = []
        for _ in range(UPLOADS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            self.addCleanup(sock.close)
            sock.sendall(b"POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 100000000\r\n\r\n")
            sock.setblocking(False)
            uploads.append(sock)
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:  # push until every socket is full
            for sock in uploads:
                try:
                    while sock.send(chunk):
                        pass
                except (BlockingIOError, OSError):
                    pass
            time.sleep(0.05)
        growth = rss_bytes(self.ringlb.pid) - before
        self.assertLess(growth, UPLOAD_RSS_BOUND,
                        f"ringlb RSS grew {growth / 1e6:.1f} MB for {UPLOADS} stalled uploads")


if __name__ == "__main__":
    unittest.main()
