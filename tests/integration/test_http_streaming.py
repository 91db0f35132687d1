# Streaming bodies through the HTTP listener: a 50 MB response (length and chunked) and a 3 MB
# chunked request arrive intact, ringlb's RSS stays flat while a slow reader or writer holds a
# big transfer back (backpressure), and a half-read response never leaks into the next one.
import hashlib
import threading
import time
import unittest

from harness import kernel_queued_bytes, wait_until_stalled
from http_harness import (MiB, HttpBackend, HttpConn, HttpTestCase, RssSampler, chunked_encode,
                          pattern_chunks, pattern_sha256, rechunk)

BIG = 50 * MiB
RSS_GROWTH_LIMIT = 16 * MiB


class DigestSink:
    """Hashes body pieces; pauses once for `pause` seconds after `pause_after` bytes."""

    def __init__(self, pause_after: int | None = None, pause: float = 0.0):
        self.digest = hashlib.sha256()
        self.total = 0
        self.pause_after = pause_after
        self.pause = pause

    def __call__(self, piece: bytes):
        self.digest.update(piece)
        before = self.total
        self.total += len(piece)
        if self.pause_after is not None and before < self.pause_after <= self.total:
            time.sleep(self.pause)


class DownloadTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.backend = self.backend(HttpBackend, "big")
        self.port = self.start_http([self.backend.port])

    def warm_up(self, conn: HttpConn):
        """One mid-size transfer first, so buffers that are allocated once exist before the
        baseline RSS is read."""
        response = conn.request("GET", "/stream/4194304", timeout=10)
        self.assertEqual(response.body_len, 4 << 20)

    def download(self, target: str, pause_after: int, pause: float):
        conn = self.conn(self.port, timeout=30)
        self.warm_up(conn)
        baseline = self.ringlb.rss()
        sink = DigestSink(pause_after, pause)
        with RssSampler(self.ringlb.pid) as sampler:
            conn.send(f"GET {target} HTTP/1.1\r\nHost: big.test\r\n\r\n".encode())
            response = conn.read_response(timeout=30, sink=sink, keep_body=False)
        return response, sink, baseline, sampler

    def assertFlat(self, baseline: int, sampler: RssSampler, what: str):
        growth = sampler.peak - baseline
        self.assertGreater(len(sampler.samples), 10, "too few RSS samples")
        self.assertLess(growth, RSS_GROWTH_LIMIT,
                        f"ringlb RSS grew by {growth / MiB:.1f} MiB during {what} "
                        f"(baseline {baseline / MiB:.1f} MiB, peak {sampler.peak / MiB:.1f} MiB)")

    def test_50mb_response_arrives_intact_and_rss_stays_flat_with_a_slow_reader(self):
        """The client stops reading for 1.5 s after 2 MiB; the backend can write much faster, so
        without backpressure ringlb would buffer most of the 50 MB."""
        response, sink, baseline, sampler = self.download(f"/stream/{BIG}", 2 * MiB, 1.5)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.framing, "length")
        self.assertEqual(sink.total, BIG)
        self.assertEqual(sink.digest.hexdigest(), pattern_sha256(BIG), "body corrupted")
        self.assertFlat(baseline, sampler, "a 50 MB download with a paused reader")

    def test_50mb_chunked_response_arrives_intact(self):
        response, sink, baseline, sampler = self.download(f"/chunked/{BIG}?chunk=100000",
                                                          2 * MiB, 1.0)
        self.assertEqual(response.status, 200)
        self.assertEqual(sink.total, BIG)
        self.assertEqual(sink.digest.hexdigest(), pattern_sha256(BIG), "body corrupted")
        self.assertFlat(baseline, sampler, "a 50 MB chunked download with a paused reader")

    def test_response_delimited_by_close_arrives_intact(self):
        conn = self.conn(self.port, timeout=10)
        response = conn.request("GET", f"/until-close/{3 * MiB}", timeout=10)
        self.assertEqual(response.status, 200)
        self.assertEqual(hashlib.sha256(response.body).hexdigest(), pattern_sha256(3 * MiB))

    def test_http10_client_gets_a_chunked_backend_response_without_chunking(self):
        conn = self.conn(self.port, timeout=10)
        response = conn.request("GET", "/chunked/300000?chunk=4096", version="HTTP/1.0",
                                host="big.test")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.headers_named("Transfer-Encoding"), [],
                         "chunked sent to an HTTP/1.0 client")
        self.assertEqual(hashlib.sha256(response.body).hexdigest(), pattern_sha256(300000))

    def test_a_half_read_response_never_leaks_into_the_next_request(self):
        """A client leaves in the middle of a 10 MB body; the upstream connection that carried
        it must not be reused with bytes still in flight."""
        for _ in range(3):
            with HttpConn(self.port) as quitter:
                quitter.send(b"GET /stream/10485760 HTTP/1.1\r\nHost: big.test\r\n\r\n")
                head = quitter.read_head(time.monotonic() + 5)
                self.assertEqual(head.status, 200)
                while len(quitter.buf) < 100_000:
                    quitter._fill(time.monotonic() + 5)
            for i in range(3):
                response = self.conn(self.port).request("GET", f"/echo?after={i}")
                self.assertEqual(response.status, 200)
                self.assertEqual(response.json()["target"], f"/echo?after={i}")


class UploadTest(HttpTestCase):
    def test_3mb_chunked_request_arrives_intact(self):
        backend = self.backend(HttpBackend, "up")
        port = self.start_http([backend.port])
        size = 3 * MiB
        sizes = [1, 7, 4096, 65536, 100_000, 333]
        pieces, sent = [], 0
        source = b"".join(pattern_chunks(size))
        i = 0
        while sent < size:
            n = min(sizes[i % len(sizes)], size - sent)
            pieces.append(source[sent:sent + n])
            sent += n
            i += 1
        body = chunked_encode(pieces)
        conn = self.conn(port, timeout=20)
        conn.send(b"POST /echo HTTP/1.1\r\nHost: up.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + body)
        echoed = conn.read_response(timeout=20).json()
        self.assertEqual(echoed["body_len"], size)
        self.assertEqual(echoed["body_sha256"], pattern_sha256(size), "body corrupted")
        [request] = backend.requests
        self.assertIn(request.framing, ("chunked", "length"))

    def test_3mb_content_length_request_arrives_intact(self):
        backend = self.backend(HttpBackend, "up")
        port = self.start_http([backend.port])
        conn = self.conn(port, timeout=20)
        size = 3 * MiB
        conn.send(b"POST /echo HTTP/1.1\r\nHost: up.test\r\nContent-Length: %d\r\n\r\n" % size)
        for piece in pattern_chunks(size):
            conn.send(piece)
        echoed = conn.read_response(timeout=20).json()
        self.assertEqual((echoed["body_len"], echoed["body_sha256"]),
                         (size, pattern_sha256(size)))
        self.assertEqual(backend.requests[0].content_length, size)

    def test_rss_stays_flat_while_a_slow_backend_holds_back_a_64mb_upload(self):
        """The backend waits 1.5 s before reading the body; the client writes as fast as it can,
        so without backpressure ringlb would buffer the upload."""
        backend = self.backend(HttpBackend, "slow", body_delay=1.5)
        port = self.start_http([backend.port])
        conn = self.conn(port, timeout=30)
        warm = conn.request("POST", "/echo", body=b"w" * (1 << 20), timeout=10)
        self.assertEqual(warm.status, 200)
        baseline = self.ringlb.rss()
        size = 64 * MiB
        errors = []

        def upload():
            try:
                conn.send(b"POST /echo HTTP/1.1\r\nHost: up.test\r\nContent-Length: %d\r\n\r\n"
                          % size)
                for piece in rechunk(pattern_chunks(size), 1 << 20):
                    conn.send(piece)
            except OSError as e:
                errors.append(e)

        with RssSampler(self.ringlb.pid) as sampler:
            sender = threading.Thread(target=upload, daemon=True)
            sender.start()
            sender.join(30)
            echoed = conn.read_response(timeout=30).json()
        self.assertEqual(errors, [])
        self.assertEqual((echoed["body_len"], echoed["body_sha256"]),
                         (size, pattern_sha256(size)), "body corrupted")
        growth = sampler.peak - baseline
        self.assertLess(growth, RSS_GROWTH_LIMIT,
                        f"ringlb RSS grew by {growth / MiB:.1f} MiB during a held-back upload")

    def test_uploads_held_back_by_a_slow_backend_do_not_starve_other_clients(self):
        """Two clients upload 64 MB each as fast as they can to a backend that waits 6 s
        before reading, until every buffer on the way is full and they stall. ringlb may then
        hold only a few of its receive buffers per upload (the rest of what was sent is in
        kernel socket queues), so a third client's GET to another pool is answered at once."""
        slow = self.backend(HttpBackend, "slow", body_delay=6.0)
        fast = self.backend(HttpBackend, "fast")
        port = self.start_http({"fast": [fast.port], "slow": [slow.port]},
                               routes=[{"host": "slow.test", "pool": "slow"}])
        size = 64 * MiB
        sent = [0, 0]
        errors = []

        def upload(conn, index):
            try:
                conn.send(b"POST /echo HTTP/1.1\r\nHost: slow.test\r\nContent-Length: %d\r\n\r\n"
                          % size)
                for piece in rechunk(pattern_chunks(size), 256 * 1024):
                    conn.send(piece)
                    sent[index] += len(piece)
            except OSError as e:
                errors.append(e)

        uploaders = [self.conn(port, timeout=30) for _ in sent]
        senders = [threading.Thread(target=upload, args=(conn, i), daemon=True)
                   for i, conn in enumerate(uploaders)]
        for sender in senders:
            sender.start()
        self.assertTrue(wait_until_stalled(sent), f"never stalled ({sum(sent) / MiB:.0f} MiB sent)")
        held = sum(sent) - kernel_queued_bytes([port, slow.port])
        self.assertLess(held, 4 * MiB, f"ringlb holds {held / MiB:.1f} MiB of 2 held-back uploads")
        other = self.conn(port, timeout=10)
        started = time.monotonic()
        response = other.request("GET", "/", host="fast.test", timeout=10)
        waited = time.monotonic() - started
        self.assertEqual(response.status, 200)
        self.assertLess(waited, 1.0, f"a small GET waited {waited:.2f} s behind held-back uploads")
        for conn, sender in zip(uploaders, senders):
            sender.join(30)
            echoed = conn.read_response(timeout=30).json()
            self.assertEqual((echoed["body_len"], echoed["body_sha256"]),
                             (size, pattern_sha256(size)), "body corrupted")
        self.assertEqual(errors, [])

if __name__ == "__main__":
    unittest.main()
