# Plain HTTP/1.1 bodies framed by Content-Length moving by splice through a pooled pipe
# (RINGLB_LEVER_L7_SPLICE=1, core/proxy/http_session_splice.cpp), in both variants
# (RINGLB_LEVER_SPLICE=sync and =uring). Responses: multi-MiB bodies intact over keep-alive, a
# pipelined request behind a spliced body, a slow backend, a backend closing or resetting
# mid-body, a client closing mid-body, a client that stops reading, bytes past Content-Length,
# HEAD of a large resource, a reload mid-body. Requests: uploads intact over keep-alive (one
# with Expect: 100-continue), a pipelined request behind a spliced upload, a client closing
# mid-upload. The splice itself is seen in /metrics and in the access log's byte count.
import hashlib
import os
import re
import signal
import socket
import struct
import time
import unittest

from harness import (HOST, _ThreadedServer, free_port, listener_metric, rss_bytes,
                     wait_listener_metric, wait_until)
from http_backend import HttpBackend
from http_client import HttpConn
from http_harness import HttpTestCase, IncompleteResponse, NoResponse, http_config
from http_client import build_request
from http_payloads import pattern_bytes, pattern_chunks, pattern_sha256

MiB = 1 << 20
FORGED = b"HTTP/1.1 200 OK\r\nX-Forged: yes\r\nContent-Length: 8\r\n\r\ninjected"


def hang_up(sock: socket.socket, reset: bool):
    """Closes `sock` mid-transfer: a FIN, or with `reset` an RST (SO_LINGER 0)."""
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class BodyFaultBackend(_ThreadedServer):
    """Keep-alive HTTP/1.1; by path:
      /cut/N/M     Content-Length N, M pattern bytes, then FIN
      /reset/N/M   the same, then RST
      /stall/N/M   Content-Length N, M pattern bytes, then nothing for 10 s
      /extra/N     Content-Length N, N bytes and a forged second response in the same send
      /early       413 before reading the request body, then reads it (keep-alive)
      /upload      reads the request body, answers its SHA-256 in hex
      anything     200 "hello" with X-Conn: the connection's index
    """

    def __init__(self):
        self.accepted = 0
        super().__init__()

    def handle(self, conn):
        index = self.accepted
        self.accepted += 1
        buffered = b""
        while True:
            while b"\r\n\r\n" not in buffered:
                data = conn.recv(65536)
                if not data:
                    return
                buffered += data
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            parts = head.split(b" ", 2)[1].decode().strip("/").split("/")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if parts[0] in ("early", "upload"):
                if parts[0] == "early":
                    conn.sendall(b"HTTP/1.1 413 Too Large\r\nContent-Length: 4\r\n\r\nnope")
                body_length = int(length.group(1)) if length else 0
                while len(buffered) < body_length:
                    data = conn.recv(262144)
                    if not data:
                        return
                    buffered += data
                body, buffered = buffered[:body_length], buffered[body_length:]
                if parts[0] == "upload":
                    digest = hashlib.sha256(body).hexdigest().encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + digest)
                continue
            if parts[0] in ("cut", "reset", "stall"):
                size, sent = int(parts[1]), int(parts[2])
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                for piece in pattern_chunks(sent):
                    conn.sendall(piece)
                if parts[0] == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                if parts[0] == "stall":
                    time.sleep(10)
                return
            if parts[0] == "extra":
                size = int(parts[1])
                body = b"".join(pattern_chunks(size))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + body +
                             FORGED)
                continue
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Conn: %d\r\nContent-Length: 5\r\n\r\nhello" % index)


class L7SpliceCase(HttpTestCase):
    variant = None  # RINGLB_LEVER_SPLICE

    def setUp(self):
        if self.variant is None:
            self.skipTest("the base class")
        super().setUp()
        self.admin_port = free_port()

    def start(self, backend, **options) -> int:
        port = free_port()
        config = http_config(port, [backend.port], **options).replace(
            "[log]", f'[admin]\nlisten = "{HOST}:{self.admin_port}"\n\n[log]', 1)
        self.start_ringlb(config, port, env={"RINGLB_LEVER_SPLICE": self.variant,
                                             "RINGLB_LEVER_L7_SPLICE": "1"})
        return port

    def metric(self, name: str) -> int:
        return listener_metric(self.admin_port, name, "web")

    def wait_metric(self, name: str, predicate, timeout: float = 5.0) -> int:
        return wait_listener_metric(self.admin_port, name, "web", predicate, timeout)

    def assertPattern(self, response, size: int):
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body_len, size)
        self.assertEqual(hashlib.sha256(response.body).hexdigest(), pattern_sha256(size),
                         "body corrupted")

    def test_bodies_intact_over_keep_alive_and_spliced(self):
        backend = self.backend(HttpBackend)
        access = os.path.join(self.tmpdir, "access.log")
        port = self.start(backend, access_log=access)
        conn = self.conn(port, timeout=30)
        sizes = [8 * MiB, 3 * MiB + 7, 16 * MiB, 65536 + 1]
        for size in sizes:
            self.assertPattern(conn.request("GET", f"/stream/{size}?chunk=100000"), size)
        self.assertEqual(backend.connections, 1, "the backend connection was not reused")
        spliced = self.wait_metric("ringlb_spliced_bytes_total", lambda v: v >= 26 * MiB)
        self.assertGreater(spliced, 26 * MiB, "the bodies were not spliced")
        self.assertLessEqual(spliced, sum(sizes))
        self.assertGreater(self.metric("ringlb_sent_bytes_total"), sum(sizes))
        def logged() -> list[int]:
            if not os.path.exists(access):
                return []
            with open(access) as log:
                return [int(m) for m in re.findall(r"bytes_out=(\d+)", log.read())]

        wait_until(lambda: len(logged()) == len(sizes), 5)
        out = logged()
        self.assertEqual(len(out), len(sizes))
        for logged, size in zip(out, sizes):
            self.assertGreater(logged, size)  # the head and every body byte, spliced or not
            self.assertLess(logged, size + 1024)

    def test_pipelined_requests_behind_a_spliced_body(self):
        backend = self.backend(HttpBackend)
        port = self.start(backend)
        conn = self.conn(port, timeout=30)
        conn.send(b"GET /stream/8388608 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /echo?after=1 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /stream/2097152 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"HEAD /stream/4194304 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /echo?last=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertPattern(conn.read_response(30), 8 * MiB)
        self.assertEqual(conn.read_response(10).json()["target"], "/echo?after=1")
        self.assertPattern(conn.read_response(30), 2 * MiB)
        head = conn.read_response(10, method="HEAD")
        self.assertEqual((head.status, head.header("Content-Length"), head.body), (200, "4194304",
                                                                                   b""))
        self.assertEqual(conn.read_response(10).json()["target"], "/echo?last=1")
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0),
                           8 * MiB)

    def test_slow_backend_body_arrives_whole(self):
        """150,000 bytes, 100 at a time, 1 ms apart: longer than the 1 s idle timeout, which
        every spliced piece restarts."""
        backend = self.backend(HttpBackend)
        port = self.start(backend, client_idle="1s")
        conn = self.conn(port, timeout=30)
        started = time.monotonic()
        response = conn.request("GET", "/drip/1500/1")
        self.assertGreater(time.monotonic() - started, 1.2, "the drip was not slower than 1 s")
        self.assertEqual(response.body, b"d" * 150000)
        self.assertEqual(conn.request("GET", "/echo?next=1").json()["target"], "/echo?next=1")
        self.assertEqual(backend.connections, 1)
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0),
                           65536)

    def test_backend_closing_mid_body_closes_the_client_connection(self):
        backend = self.backend(BodyFaultBackend)
        port = self.start(backend)
        for path in (f"/cut/{16 * MiB}/{4 * MiB}", f"/reset/{16 * MiB}/{4 * MiB}"):
            conn = self.conn(port, timeout=15)
            conn.send(f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
            with self.assertRaises(IncompleteResponse, msg=path) as caught:
                conn.read_response(15)
            body = caught.exception.response.body
            self.assertLessEqual(len(body), 4 * MiB)
            self.assertEqual(hashlib.sha256(body).hexdigest(), pattern_sha256(len(body)))
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0), 0)
        self.assertEqual(self.conn(port).request("GET", "/small").body, b"hello")

    def test_backend_stalling_mid_body_meets_the_idle_timeout(self):
        backend = self.backend(BodyFaultBackend)
        port = self.start(backend, client_idle="1s")
        conn = self.conn(port, timeout=15)
        conn.send(f"GET /stall/{16 * MiB}/{2 * MiB} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        started = time.monotonic()
        with self.assertRaises(IncompleteResponse) as caught:
            conn.read_response(15)
        self.assertLess(time.monotonic() - started, 5, "the idle timeout did not end it")
        body = caught.exception.response.body
        self.assertEqual((len(body), hashlib.sha256(body).hexdigest()),
                         (2 * MiB, pattern_sha256(2 * MiB)))
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0), MiB)

    def test_bytes_past_content_length_never_reach_the_client(self):
        """The backend sends a forged second response right after the body, in the same send.
        The body arrives exact; then, as with a copied body whose last receive holds the forged
        bytes, the client connection ends (the backend connection is not reused). Never does
        the client see the forged response."""
        backend = self.backend(BodyFaultBackend)
        port = self.start(backend)
        for _ in range(3):
            conn = self.conn(port, timeout=30)
            conn.send(f"GET /extra/{4 * MiB} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
            self.assertPattern(conn.read_response(30), 4 * MiB)
            self.assertEqual(conn.read_until_closed(5), (b"", "eof"))
        response = self.conn(port).request("GET", "/small")
        self.assertEqual((response.body, response.header("X-Forged")), (b"hello", None))
        self.assertEqual(backend.accepted, 4, "a backend connection that overran was reused")
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0),
                           3 * MiB)

    def test_client_closing_mid_body_leaves_ringlb_serving(self):
        backend = self.backend(HttpBackend)
        port = self.start(backend)
        for reset in (False, True):
            sock = socket.create_connection((HOST, port), timeout=10)
            sock.sendall(b"GET /stream/33554432 HTTP/1.1\r\nHost: a\r\n\r\n")
            got = 0
            while got < MiB:
                got += len(sock.recv(MiB))
            hang_up(sock, reset)
        # Each backend connection mid-body is closed, not pooled.
        self.assertTrue(wait_until(lambda: all(c.closed for c in backend.conns), 10),
                        "a backend connection cut mid-body stayed open")
        self.assertPattern(self.conn(port, timeout=30).request("GET", "/stream/2097152"), 2 * MiB)
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0), 0)

    def test_client_that_stops_reading_is_bounded_and_others_are_served(self):
        backend = self.backend(HttpBackend)
        port = self.start(backend)
        stalled = socket.create_connection((HOST, port), timeout=10)
        self.addCleanup(stalled.close)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        stalled.sendall(b"GET /stream/268435456 HTTP/1.1\r\nHost: a\r\n\r\n")
        time.sleep(1.0)  # every buffer on the way fills; the pipe is full
        rss_before = rss_bytes(self.ringlb.pid)
        started = time.monotonic()
        self.assertPattern(self.conn(port, timeout=30).request("GET", "/stream/8388608"), 8 * MiB)
        self.assertLess(time.monotonic() - started, 10)
        time.sleep(0.5)
        self.assertLess(rss_bytes(self.ringlb.pid) - rss_before, 16 * MiB)
        # The stalled response then arrives intact once its client reads.
        conn = HttpConn.__new__(HttpConn)
        conn.sock, conn.buf, conn.eof, conn.timeout, conn.port = stalled, bytearray(), False, 60, port
        digest, total = hashlib.sha256(), 0

        def take(piece):
            nonlocal total
            digest.update(piece)
            total += len(piece)

        conn.read_response(120, sink=take, keep_body=False)
        self.assertEqual((total, digest.hexdigest()), (256 * MiB, pattern_sha256(256 * MiB)))
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total",
                                            lambda v: v > 256 * MiB), 256 * MiB)

    def test_head_of_a_large_resource(self):
        backend = self.backend(HttpBackend)
        port = self.start(backend)
        conn = self.conn(port, timeout=10)
        head = conn.request("HEAD", "/stream/16777216")
        self.assertEqual((head.status, head.header("Content-Length"), head.body),
                         (200, "16777216", b""))
        self.assertPattern(conn.request("GET", "/stream/1048576"), MiB)
        spliced = self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0)
        self.assertGreater(spliced, MiB // 2)  # the GET's body; the HEAD had none to splice
        self.assertLessEqual(spliced, MiB)

    def test_reload_mid_body_loses_nothing(self):
        backend = self.backend(HttpBackend)
        port = self.start(backend)
        conn = self.conn(port, timeout=30)
        conn.send(b"GET /stream/33554432 HTTP/1.1\r\nHost: a\r\n\r\n")
        head = conn.read_head(time.monotonic() + 10)
        self.ringlb.send_signal(signal.SIGHUP)
        conn.buf[0:0] = b""  # the body follows the head in conn.buf and the socket
        digest, total = hashlib.sha256(), 0
        while total < 32 * MiB:
            if not conn.buf and not conn._fill(time.monotonic() + 30):
                break
            piece = bytes(conn.buf[:32 * MiB - total])
            del conn.buf[:len(piece)]
            digest.update(piece)
            total += len(piece)
        self.assertEqual((head.status, total, digest.hexdigest()),
                         (200, 32 * MiB, pattern_sha256(32 * MiB)))
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0),
                           16 * MiB)

    # ---- request bodies (uploads) ----

    def test_uploads_intact_over_keep_alive_and_spliced(self):
        backend = self.backend(HttpBackend)
        port = self.start(backend)
        conn = self.conn(port, timeout=30)
        sizes = [8 * MiB, 3 * MiB + 7, 65536 + 1]
        for size in sizes:
            echoed = conn.request("POST", "/echo", body=pattern_bytes(size), timeout=30).json()
            self.assertEqual((echoed["body_len"], echoed["body_sha256"]),
                             (size, pattern_sha256(size)))
        with_continue = conn.request("POST", "/echo?continue=1", [("Expect", "100-continue")],
                                     body=pattern_bytes(2 * MiB), timeout=30).json()
        self.assertEqual(with_continue["body_sha256"], pattern_sha256(2 * MiB))
        self.assertEqual(backend.connections, 1, "the backend connection was not reused")
        received = self.wait_metric("ringlb_received_bytes_total", lambda v: v > 13 * MiB)
        self.assertGreater(received, sum(sizes) + 2 * MiB)
        self.assertGreater(self.metric("ringlb_spliced_bytes_total"), 12 * MiB,
                           "the uploads were not spliced")

    def test_pipelined_request_behind_a_spliced_upload(self):
        backend = self.backend(HttpBackend)
        port = self.start(backend)
        conn = self.conn(port, timeout=30)
        conn.send(build_request("POST", "/echo?first=1", body=pattern_bytes(4 * MiB)) +
                  build_request("GET", "/echo?after=1"))
        first = conn.read_response(30).json()
        self.assertEqual((first["target"], first["body_sha256"]),
                         ("/echo?first=1", pattern_sha256(4 * MiB)))
        after = conn.read_response(10).json()
        self.assertEqual((after["target"], after["body_len"]), ("/echo?after=1", 0))
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0),
                           3 * MiB)

    def test_client_closing_mid_upload_leaves_ringlb_serving(self):
        backend = self.backend(HttpBackend)
        port = self.start(backend)
        for reset in (False, True):
            sock = socket.create_connection((HOST, port), timeout=10)
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
                         % (16 * MiB))
            sock.sendall(pattern_bytes(2 * MiB))
            time.sleep(0.3)
            hang_up(sock, reset)
        self.assertTrue(wait_until(lambda: all(c.closed for c in backend.conns), 10),
                        "a backend connection cut mid-upload stayed open")
        self.assertEqual([r.complete for r in backend.requests], [False, False])
        echoed = self.conn(port, timeout=30).request("POST", "/echo", body=pattern_bytes(MiB))
        self.assertEqual(echoed.json()["body_sha256"], pattern_sha256(MiB))
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0), 0)


    def test_an_upload_answered_early_leaves_no_byte_for_the_next_body(self):
        """The backend answers 413 before it reads a 1 MiB upload, and ringlb ends that exchange
        with a splice of the upload still running. None of its bytes may reach the next body
        through a pooled pipe (with the uring variant they did: the splice's result came after
        the pump stopped and was not counted, so the pipe went back to the pool as empty)."""
        backend = self.backend(BodyFaultBackend)
        port = self.start(backend)
        for attempt in range(6):
            early = socket.create_connection((HOST, port), timeout=10)
            try:
                early.sendall(b"POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n"
                              % MiB + b"A" * MiB)
                while early.recv(65536):
                    pass
            except OSError:
                pass  # ringlb answered 413 and closed: a reset is expected
            early.close()
            conn = self.conn(port, timeout=30)
            conn.send(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % MiB)
            time.sleep(0.2)  # the body comes on its own, spliced from its first byte
            conn.send(pattern_bytes(MiB))
            response = conn.read_response(30)
            self.assertEqual((response.status, response.body), (200, pattern_sha256(MiB).encode()),
                             f"attempt {attempt}: the next upload reached the backend altered")
            conn.close()
        self.assertGreater(self.metric("ringlb_spliced_bytes_total"), 0)


class SyncL7SpliceTest(L7SpliceCase):
    variant = "sync"


class UringL7SpliceTest(L7SpliceCase):
    variant = "uring"


if __name__ == "__main__":
    unittest.main()
