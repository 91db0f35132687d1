# HTTP/2 streams side by side on one client connection: 100 concurrent streams balanced one by
# one over 3 backends with their bodies intact both ways, a slow stream (slow backend, or a client
# that keeps its window shut) beside a fast one that is not held up, a chunked backend response's
# trailers as a trailing HEADERS frame, and the drain on SIGTERM (GOAWAY, the stream in flight
# finishes, a new one is refused, the process exits).
import collections
import hashlib
import json
import os
import signal
import socket
import time
import unittest

from harness import free_port, wait_until
from h2_harness import H2TestCase, needs_h2
from h2_raw import (MAX_STREAM_ID, PREFACE, REFUSED_STREAM, RawH2, header_block, headers_frame,
                    request_headers, settings_frame, window_update_frame)
from harness_sockets import HOST

SETTINGS_INITIAL_WINDOW_SIZE = 0x4  # RFC 9113 §6.5.2
from http_harness import MiB, FaultBackend, HttpBackend, http_config, pattern_sha256

BIG = 10_000_000  # the 10 MB, on a few streams each way
SMALL = 200_000  # the other streams; 100 x 10 MB each way would take minutes through python-h2
BIG_STREAMS = 4  # streams 0-3: two 10 MB uploads, two 10 MB downloads


@needs_h2
class ConcurrentStreamsTest(H2TestCase):
    def setUp(self):
        super().setUp()
        self.apps = [self.backend(HttpBackend, f"b{i}") for i in range(3)]
        self.port = self.start_http([app.port for app in self.apps], response_timeout="30s")

    def test_100_streams_are_balanced_one_by_one_with_bodies_intact_both_ways(self):
        """Even streams upload (POST /echo, the backend reports the SHA-256 it got), odd ones
        download (GET /stream/N, a size of their own so no two answers look alike)."""
        client = self.h2(self.port, timeout=60, window=16 * MiB)
        self.assertTrue(client.wait(lambda: 3 in client.received_settings, 3.0))
        self.assertEqual(client.received_settings[3], 100, "SETTINGS_MAX_CONCURRENT_STREAMS")
        expected = {}
        for i in range(100):
            size = (BIG if i < BIG_STREAMS else SMALL) + i * 1000
            if i % 2 == 0:
                upload = os.urandom(size)
                sid = client.request("POST", "/echo", body=upload)
                expected[sid] = ("up", hashlib.sha256(upload).hexdigest(), size)
            else:
                sid = client.request("GET", f"/stream/{size}")
                expected[sid] = ("down", pattern_sha256(size), size)
        self.assertTrue(client.wait(lambda: all(client.streams[s].done for s in expected), 50),
                        f"{sum(not client.streams[s].done for s in expected)} of 100 streams "
                        f"unfinished (connection closed: {client.closed}, GOAWAY: "
                        f"{client.goaways})")
        per_backend = collections.Counter()
        for sid, (direction, digest, size) in expected.items():
            stream = client.streams[sid]
            self.assertEqual((stream.status, stream.reset), (200, None), str(stream))
            per_backend[stream.header("x-backend")] += 1
            if direction == "up":
                echoed = json.loads(stream.body)
                self.assertEqual((echoed["body_len"], echoed["body_sha256"]), (size, digest),
                                 f"stream {sid}: upload of {size} bytes")
            else:
                self.assertEqual((stream.body_len, stream.body_sha256), (size, digest),
                                 f"stream {sid}: download of {size} bytes")
        self.assertEqual(sorted(per_backend.values()), [33, 33, 34], per_backend)
        self.assertEqual(sorted(len(app.requests) for app in self.apps), [33, 33, 34])
        self.assertEqual(len(client.goaways), 0, client.goaways)


@needs_h2
class SlowStreamTest(H2TestCase):
    """Stream A is slow; stream B, opened once A is under way, finishes within 2 s."""

    def setUp(self):
        super().setUp()
        self.fast = self.backend(HttpBackend, "fast")
        self.slow = self.backend(HttpBackend, "slow", body_delay=3.0)
        self.port = self.start_http({"fast": [self.fast.port], "slow": [self.slow.port]},
                                    routes=[{"host": "slow.test", "pool": "slow"}])
        self.client = self.h2(self.port, timeout=15)

    def assertFastDespiteSlow(self, slow_sid: int, fast_sid: int):
        fast = self.client.response(fast_sid, timeout=5)
        self.assertEqual(fast.status, 200, str(fast))
        self.assertLess(fast.seconds, 2.0, f"the fast stream took {fast.seconds:.2f} s")
        slow = self.client.streams[slow_sid]
        self.assertFalse(slow.done, f"the slow stream was not slow: {slow}")
        return fast

    def test_a_slow_backend_response_does_not_hold_up_another_stream(self):
        slow_sid = self.client.request("GET", "/drip/30/100", authority="slow.test")  # 3 s
        self.assertTrue(wait_until(lambda: len(self.slow.requests) == 1, 3.0))
        fast = self.assertFastDespiteSlow(slow_sid, self.client.request("GET", "/stream/2000000"))
        self.assertEqual((fast.body_len, fast.body_sha256), (2000000, pattern_sha256(2000000)))
        slow = self.client.response(slow_sid, timeout=6)
        self.assertEqual((slow.status, slow.body_len), (200, 3000), str(slow))

    def test_a_backend_slow_to_read_an_upload_does_not_hold_up_another_upload(self):
        """The slow stream fills its own window only; the connection window leaves room."""
        # 16 MiB: more than the kernel's socket buffers toward the slow backend hold.
        slow_upload, fast_upload = os.urandom(16 * MiB), os.urandom(512 * 1024)
        slow_sid = self.client.request("POST", "/echo", body=slow_upload, authority="slow.test")
        self.assertTrue(wait_until(lambda: len(self.slow.requests) == 1, 3.0))
        self.client.wait(lambda: False, 0.5)  # the slow stream fills the buffers and its window
        fast_sid = self.client.request("POST", "/echo", body=fast_upload)
        fast = self.assertFastDespiteSlow(slow_sid, fast_sid)
        self.assertEqual(json.loads(fast.body)["body_sha256"],
                         hashlib.sha256(fast_upload).hexdigest())
        slow = self.client.response(slow_sid, timeout=15)
        self.assertEqual(json.loads(slow.body)["body_sha256"],
                         hashlib.sha256(slow_upload).hexdigest(), str(slow))

    def test_a_stream_whose_client_window_stays_shut_does_not_hold_up_another(self):
        held_sid = self.client.request("GET", "/stream/4000000")
        self.client.hold(held_sid)
        held = self.client.streams[held_sid]
        self.client.wait(lambda: held.body_len >= 65535, 3.0)
        fast = self.assertFastDespiteSlow(held_sid, self.client.request("GET", "/stream/2000000"))
        self.assertEqual(fast.body_sha256, pattern_sha256(2000000))
        self.assertEqual(held.body_len, 65535, "bytes beyond the stream's window were sent")
        self.client.reset(held_sid)
        after = self.client.get("/after")
        self.assertEqual(after.status, 200, f"a new stream after resetting the held one: {after}")


GRPC_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\n"
                 b"Transfer-Encoding: chunked\r\nTrailer: grpc-status, grpc-message\r\n\r\n"
                 b"5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n")


@needs_h2
class TrailersTest(H2TestCase):
    def test_chunked_trailers_arrive_as_a_trailing_headers_frame(self):
        backend = self.backend(FaultBackend, "raw", GRPC_RESPONSE, after="close")
        port = self.start_http([backend.port])
        stream = self.h2(port).get("/pkg.Service/Method", [("te", "trailers")])
        self.assertEqual((stream.status, bytes(stream.body)), (200, b"hello"), str(stream))
        self.assertTrue(stream.ended, str(stream))
        self.assertEqual(stream.trailers, [("grpc-status", "0"), ("grpc-message", "ok")],
                         f"no trailing HEADERS frame with the backend's trailers: {stream}")


@needs_h2
class GoawayOnStopTest(H2TestCase):
    def test_sigterm_sends_goaway_finishes_the_stream_and_refuses_new_ones(self):
        app = self.backend(HttpBackend, "b1")
        port = free_port()
        proc = self.start_ringlb(http_config(port, [app.port], grace="10s"), port)
        client = self.h2(port, timeout=10)
        in_flight = client.request("GET", "/delay/3000")
        self.assertTrue(wait_until(lambda: len(app.requests) == 1, 3.0))
        proc.send_signal(signal.SIGTERM)
        final = lambda: [g for g in client.goaways if g.last_stream_id < MAX_STREAM_ID]  # noqa
        self.assertTrue(client.wait(lambda: final() or client.streams[in_flight].done, 3.0),
                        f"no GOAWAY with a last stream id within 3 s: {client.goaways}")
        self.assertTrue(client.goaways, "the stream ended before any GOAWAY")
        self.assertGreaterEqual(min(g.last_stream_id for g in client.goaways), in_flight,
                                f"a GOAWAY left out the stream in flight: {client.goaways}")
        self.assertEqual({g.error_code for g in client.goaways}, {0}, client.goaways)
        late = client.request("GET", "/late")  # after the GOAWAY
        stream = client.response(in_flight, timeout=6)
        self.assertEqual((stream.status, stream.body), (200, b"b1 GET /delay/3000\n"))
        self.assertTrue(client.wait_closed(3.0), "the connection stayed open after the drain")
        late_stream = client.streams[late]
        self.assertIsNone(late_stream.status, f"the stream opened after GOAWAY was served: "
                                              f"{late_stream}; GOAWAYs: {client.goaways}")
        self.assertIn(late_stream.reset, (None, REFUSED_STREAM), str(late_stream))
        self.assertEqual(app.targets(), ["/delay/3000"], "the late stream reached the backend")
        self.assertExits(0, 5)


@needs_h2
class DrainWithASlowReaderTest(H2TestCase):
    """A reload drains an h2 connection while its client still reads a large response slowly,
    acknowledging each DATA frame with a WINDOW_UPDATE. The response must arrive whole with its
    END_STREAM: ringlb may not close under the client (its late WINDOW_UPDATEs would draw a TCP
    reset that discards what the client has not read yet), and the last DATA must not wait for a
    stream window the client has no reason to open."""

    SIZE = 2_000_000

    def test_a_reload_loses_no_byte_of_a_response_being_read(self):
        app = self.backend(HttpBackend, "b1")
        port = free_port()
        proc = self.start_ringlb(http_config(port, [app.port]), port)
        for attempt in range(3):
            sock = socket.create_connection((HOST, port), timeout=5)
            self.addCleanup(sock.close)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.sendall(PREFACE + settings_frame({SETTINGS_INITIAL_WINDOW_SIZE: self.SIZE})
                         + window_update_frame(0, self.SIZE)
                         + headers_frame(1, header_block(request_headers("GET",
                                                                         f"/stream/{self.SIZE}"))))
            time.sleep(0.05)
            proc.send_signal(signal.SIGHUP)  # drain: GOAWAY, then close once stream 1 is done
            time.sleep(0.5)  # the response waits in the client's receive buffer
            got, ended, pending = 0, False, b""
            while not ended:
                data = sock.recv(16384)
                if not data:
                    break
                pending += data
                acks = b""
                while len(pending) >= 9 and len(pending) >= 9 + int.from_bytes(pending[:3], "big"):
                    length = int.from_bytes(pending[:3], "big")
                    kind, flags = pending[3], pending[4]
                    sid = int.from_bytes(pending[5:9], "big") & 0x7FFFFFFF
                    pending = pending[9 + length:]
                    if kind == 0 and sid == 1:  # DATA
                        got += length
                        ended = ended or bool(flags & 1)
                        if length:
                            acks += window_update_frame(0, length)
                if acks:
                    sock.sendall(acks)
                time.sleep(0.002)  # a slow reader
            self.assertEqual((got, ended), (self.SIZE, True),
                             f"attempt {attempt}: the response was cut by the drain's close")
            sock.close()


@needs_h2
class DrainWithABackloggedReaderTest(H2TestCase):
    """As above, but the client reads for longer than the linger's second: its window is the
    whole response, so all of it left ringlb at once and waits in ringlb's socket (the client's
    receive buffer is small), and it acknowledges each frame as it reads. The close must wait
    until the client has taken every byte; closed at 1 s, its next WINDOW_UPDATE would meet a
    closed socket, whose TCP reset throws the rest of the response away."""

    SIZE = 2_000_000

    def test_a_reload_waits_for_a_reader_slower_than_the_linger(self):
        app = self.backend(HttpBackend, "b1")
        port = free_port()
        proc = self.start_ringlb(http_config(port, [app.port]), port)
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)  # before connect: the window
        sock.settimeout(5)
        sock.connect((HOST, port))
        sock.sendall(PREFACE + settings_frame({SETTINGS_INITIAL_WINDOW_SIZE: self.SIZE})
                     + window_update_frame(0, self.SIZE)
                     + headers_frame(1, header_block(request_headers("GET", f"/stream/{self.SIZE}"))))
        time.sleep(0.3)  # the whole response is written (into ringlb's socket)
        proc.send_signal(signal.SIGHUP)
        started, got, ended, pending = time.monotonic(), 0, False, b""
        while not ended:
            try:
                data = sock.recv(16384)
            except ConnectionResetError:
                break  # the reset: what ringlb had not sent yet is gone
            if not data:
                break
            pending += data
            acks = b""
            while len(pending) >= 9 and len(pending) >= 9 + int.from_bytes(pending[:3], "big"):
                length = int.from_bytes(pending[:3], "big")
                kind, flags = pending[3], pending[4]
                pending = pending[9 + length:]
                if kind == 0:  # DATA
                    got += length
                    ended = ended or bool(flags & 1)
                    if length:
                        acks += window_update_frame(0, length)
            if acks:
                try:
                    sock.sendall(acks)
                except ConnectionResetError:
                    break
            time.sleep(0.02)  # ~800 KB/s: the 2 MB take longer than the linger's second
        self.assertEqual((got, ended), (self.SIZE, True), "the response was cut by the close")
        self.assertGreater(time.monotonic() - started, 1.5, "the reader was not slow enough")


@needs_h2
class ResponseBeforeTheRequestEndsTest(H2TestCase):
    """A response that is whole while the client has not ended its side (its END_STREAM never
    comes) ends the stream with RST_STREAM(NO_ERROR) (RFC 9113 §8.1, as nginx does), so a drain
    is not held open by a stream nghttp2 would otherwise keep half-closed."""

    def test_the_stream_is_reset_with_no_error_and_a_drain_closes(self):
        app = self.backend(HttpBackend, "b1")
        port = free_port()
        proc = self.start_ringlb(http_config(port, [app.port]), port)
        raw = RawH2(port, timeout=5)
        self.addCleanup(raw.close)
        raw.send(headers_frame(1, header_block(request_headers(
            "POST", "/v", [("content-length", "0")])), end_stream=False))
        self.assertTrue(raw.wait(lambda: raw.rst(1) is not None, 3.0),
                        f"no RST_STREAM after the whole response: {raw.summary()}")
        self.assertEqual((raw.status(1), raw.rst(1)), (200, 0), raw.summary())
        proc.send_signal(signal.SIGHUP)  # a drain: GOAWAY, and the close soon after
        self.assertTrue(raw.wait_closed(3.0), f"the drained connection stayed open: {raw.summary()}")


@needs_h2
class DrainBeforeThePrefaceTest(H2TestCase):
    """A reload that comes after a client connected but before it sent the h2 preface: its
    first request is served (as HTTP/1.1 answers one), then GOAWAY ends the connection, so no
    client stays on the old configuration."""

    def test_the_first_stream_is_served_then_goaway_closes(self):
        app = self.backend(HttpBackend, "b1")
        port = free_port()
        proc = self.start_ringlb(http_config(port, [app.port]), port)
        raw = RawH2(port, timeout=5, preface=False)
        self.addCleanup(raw.close)
        time.sleep(0.2)  # accepted, nothing sent yet
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)  # the reload is adopted and the connection drained
        raw.send(PREFACE + settings_frame() + headers_frame(1, header_block(request_headers())))
        self.assertTrue(raw.wait(lambda: raw.status(1) is not None and raw.goaways(), 3.0),
                        f"no answer and GOAWAY: {raw.summary()}")
        self.assertEqual((raw.status(1), raw.goaway_codes()), (200, [0]), raw.summary())
        self.assertTrue(raw.wait_closed(3.0), f"the drained connection stayed open: {raw.summary()}")


@needs_h2
class GrpcFailureTest(H2TestCase):
    """A gRPC request that ringlb fails itself (no backend) is answered the gRPC way: HTTP 200
    with grpc-status 14 (UNAVAILABLE) in a single HEADERS frame (spec.md, "HTTP/2")."""

    def test_no_backend_is_grpc_status_14_trailers_only(self):
        port = self.start_http([free_port()])  # nothing listens there: every connect is refused
        client = self.h2(port)
        stream = client.get("/pkg.Service/Method", [("content-type", "application/grpc"),
                                                     ("te", "trailers")], timeout=5)
        self.assertEqual(stream.status, 200, str(stream))
        self.assertEqual(stream.header("grpc-status"), "14", str(stream))
        self.assertEqual(bytes(stream.body), b"", str(stream))
        self.assertTrue(stream.ended, str(stream))
        plain = client.get("/plain", timeout=5)  # not gRPC: the HTTP status says it
        self.assertEqual((plain.status, bytes(plain.body)), (503, b"Service Unavailable\n"),
                         str(plain))


if __name__ == "__main__":
    unittest.main()
