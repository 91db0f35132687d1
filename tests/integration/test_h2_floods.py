# HTTP/2 limits and floods (issue 18 section 6; docs/http2-plan.md §1.4): Rapid Reset, resets
# ringlb is made to send (MadeYouReset), SETTINGS, PING and empty DATA floods each end in GOAWAY
# ENHANCE_YOUR_CALM with bounded backend work; a CONTINUATION flood and a header block that never
# ends close the connection with nothing forwarded; a header list over max_header_bytes (an HPACK
# bomb included) is 431; a stream past max_concurrent_streams is refused; a silent or idle
# connection is closed by its timeout. Every attack prints its figures (backend requests and
# connections, ringlb's CPU time and RSS) on a line starting "h2-flood-figures:".
import time
import unittest

from harness import wait_until
from h2_harness import AttackFigures, H2Client, HangBackend, RawH2, needs_h2
from h2_raw import (CANCEL, ENHANCE_YOUR_CALM, ERROR_NAMES, REFUSED_STREAM,
                    SETTINGS_MAX_CONCURRENT_STREAMS, continuation_frame, data_frame,
                    header_block, headers_frame, ping_frame, request_headers, rst_frame,
                    settings_frame, window_update_frame)
from http_harness import HttpBackend, SharedProxyTestCase, http_config

MAX_STREAMS = 100  # the defaults of [listeners.NAME.http2]
MAX_RESETS = 100
HEADER_TIMEOUT, CLIENT_IDLE = 1.0, 2.0
MAX_HEADER_BYTES = 4096


def hpack_integer(value: int, prefix_bits: int, first: int) -> bytes:
    """RFC 7541 §5.1: `value` with a `prefix_bits` prefix, OR-ed into `first`."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out, value = bytearray([first | limit]), value - limit
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    return bytes(out + bytes([value]))


def hpack_bomb(headers, size: int = 4000, repeats: int = 1000) -> bytes:
    """`headers`, then one `size`-byte field added to the dynamic table (literal with
    incremental indexing), then `repeats` one-byte references to it (dynamic index 62)."""
    name, value = b"x-bomb", b"b" * size
    entry = (hpack_integer(0, 6, 0x40) + hpack_integer(len(name), 7, 0) + name
             + hpack_integer(len(value), 7, 0) + value)
    return header_block(headers) + entry + hpack_integer(62, 7, 0x80) * repeats


@needs_h2
class FloodTest(SharedProxyTestCase):
    """One ringlb with timeouts.header = 1s, client_idle = 2s, max_header_bytes = 4KiB, and
    the [listeners.NAME.http2] defaults; /hang/ goes to a backend that never answers."""

    @classmethod
    def make_backends(cls):
        cls.app = HttpBackend("app")
        cls.hang = HangBackend()
        return [cls.app, cls.hang]

    @classmethod
    def config(cls, port):
        return http_config(port, {"app": [cls.app.port], "hang": [cls.hang.port]},
                           routes=[{"path_prefix": "/hang/", "pool": "hang"}],
                           header_timeout="1s", client_idle="2s", max_header_bytes="4KiB")

    def raw(self, **kwargs) -> RawH2:
        raw = RawH2(self.port, **kwargs)
        self.addCleanup(raw.close)
        return raw

    def figures(self, name: str) -> AttackFigures:
        return AttackFigures(name, type(self).shared.pid, [self.app, self.hang])

    def assertCalmedDown(self, raw: RawH2, what: str, timeout: float = 10.0):
        """GOAWAY ENHANCE_YOUR_CALM arrives (then the close)."""
        raw.wait(lambda: ENHANCE_YOUR_CALM in raw.goaway_codes() or raw.closed, timeout)
        raw.wait_closed(3.0)
        self.assertIn(ENHANCE_YOUR_CALM, raw.goaway_codes(), f"{what}: {raw.summary()}")
        self.assertTrue(raw.closed, f"{what}: the connection is still open after the GOAWAY")

    def assertStillServed(self, what: str):
        with H2Client(self.port) as client:
            stream = client.get("/after")
        self.assertEqual(stream.status, 200, f"after {what}: {stream}")

    # Resets.

    def rapid_reset(self, name: str, pieces: int, pause: float):
        block = header_block(request_headers("GET", "/delay/50"))
        attack = b"".join(headers_frame(sid, block) + rst_frame(sid, CANCEL)
                          for sid in range(1, 20001, 2))  # 10,000 pairs
        with self.figures(name) as figures:
            raw = self.raw()
            raw.send_in_background(attack, pieces, pause)
            self.assertCalmedDown(raw, name)
            time.sleep(0.5)  # backend work started before the GOAWAY shows up at the backend
        self.assertLessEqual(figures.requests, MAX_STREAMS + MAX_RESETS,
                             f"{name}: {figures.requests} requests reached the backend")
        self.assertStillServed(name)

    def test_rapid_reset_in_one_write(self):
        self.rapid_reset("rapid reset, 10000 HEADERS+RST_STREAM in one write", 1, 0)

    def test_rapid_reset_spread_over_writes(self):
        self.rapid_reset("rapid reset, 10000 HEADERS+RST_STREAM in 200 writes 2 ms apart",
                         200, 0.002)

    def test_rapid_reset_with_each_reset_one_write_after_its_headers(self):
        """Write k opens streams 40k+1.. and resets those write k-1 opened, so every stream has
        started its backend work before its reset arrives."""
        block = header_block(request_headers("GET", "/delay/50"))
        batches = [range(1 + 40 * k, 41 + 40 * k, 2) for k in range(500)]  # 10,000 streams
        with self.figures("rapid reset, 10000 streams, each reset one write (2 ms) after its "
                          "HEADERS") as figures:
            raw = self.raw()
            for k, batch in enumerate(batches):
                resets = batches[k - 1] if k else ()
                sent = raw.send(b"".join(headers_frame(sid, block) for sid in batch)
                                + b"".join(rst_frame(sid, CANCEL) for sid in resets))
                raw.pump(0.002)
                if not sent or raw.closed:
                    break
            self.assertCalmedDown(raw, "HEADERS, then RST_STREAM one write later")
            time.sleep(0.5)
        self.assertLessEqual(figures.requests, MAX_STREAMS + MAX_RESETS,
                             f"{figures.requests} requests reached the backend")
        self.assertStillServed("rapid reset, resets one write later")

    def test_made_you_reset_malformed_requests(self):
        """Each stream carries a connection-specific field, so ringlb (nghttp2) resets it; the
        resets ringlb is made to send count like the client's own (CVE-2025-8671)."""
        block = header_block(request_headers("GET", "/delay/50", [("connection", "close")]))
        attack = b"".join(headers_frame(sid, block) for sid in range(1, 20001, 2))
        with self.figures("made-you-reset, 10000 streams ringlb must reset") as figures:
            raw = self.raw()
            raw.send_in_background(attack)
            self.assertCalmedDown(raw, "malformed requests ringlb resets")
            time.sleep(0.5)
        self.assertEqual(figures.requests, 0)
        self.assertStillServed("made-you-reset")

    def test_stream_frames_nghttp2_takes_as_connection_errors_end_the_connection(self):
        """DATA after END_STREAM and a WINDOW_UPDATE of 0 on a stream: nghttp2 1.52 answers the
        first with GOAWAY (STREAM_CLOSED, PROTOCOL_ERROR), so neither becomes a reset flood."""
        block = header_block(request_headers("POST", "/delay/50"))
        vectors = {
            "DATA after END_STREAM": lambda sid: (headers_frame(sid, block)
                                                  + data_frame(sid, b"x")),
            "WINDOW_UPDATE of 0": lambda sid: (headers_frame(sid, block, end_stream=False)
                                               + window_update_frame(sid, 0)),
        }
        for name, frames in vectors.items():
            with self.subTest(name), self.figures(f"2000 streams, {name}") as figures:
                raw = self.raw()
                raw.send_in_background(b"".join(frames(sid) for sid in range(1, 4001, 2)))
                self.assertTrue(raw.wait_closed(5.0), f"{name}: still open: {raw.summary()}")
                self.assertTrue(raw.goaways(), f"{name}: {raw.summary()}")
                time.sleep(0.5)
            self.assertLessEqual(figures.requests, 1, name)
            self.assertStillServed(name)

    # Control and empty frames.

    def flood(self, name: str, opening: bytes, frame: bytes, count: int):
        with self.figures(name) as figures:
            raw = self.raw()
            raw.send_in_background(opening + frame * count)
            self.assertCalmedDown(raw, name)
        self.assertStillServed(name)
        return figures

    def test_settings_flood(self):
        self.flood("SETTINGS flood, 10000 frames", b"", settings_frame(), 10000)

    def test_ping_flood(self):
        self.flood("PING flood, 10000 frames", b"", ping_frame(), 10000)

    def test_empty_data_flood(self):
        opening = headers_frame(1, header_block(request_headers("POST", "/hang/empty")),
                                end_stream=False)
        figures = self.flood("empty DATA flood, 10000 frames", opening, data_frame(1), 10000)
        self.assertLessEqual(figures.requests, 1)

    # Header blocks.

    def test_continuation_flood_closes_the_connection(self):
        block = header_block(request_headers("GET", "/v", [(f"x-c{i:02}", "v" * 20)
                                                           for i in range(40)]))
        cut = len(block) // 20
        attack = headers_frame(1, block[:cut], end_headers=False) + b"".join(
            continuation_frame(1, block[i:i + cut]) for i in range(cut, cut * 20, cut))
        with self.figures("CONTINUATION flood, 19 CONTINUATION frames") as figures:
            raw = self.raw(ack_settings=False)  # nothing may come between a block's frames
            raw.send(attack)
            self.assertTrue(raw.wait_closed(2.0), f"still open: {raw.summary()}")
        self.assertEqual(figures.requests, 0)
        self.assertBackendGotNothing(self.app)
        self.assertStillServed("CONTINUATION flood")

    def test_a_header_block_that_never_ends_is_closed_at_the_header_timeout(self):
        block = header_block(request_headers("GET", "/v", [("x-a", "v" * 100)]))
        raw = self.raw(ack_settings=False)  # nothing may come between a block's frames
        started = time.monotonic()
        raw.send(headers_frame(1, block[:20], end_headers=False)
                 + continuation_frame(1, block[20:40]) + continuation_frame(1, block[40:60]))
        self.assertTrue(raw.wait_closed(HEADER_TIMEOUT + 2), f"still open: {raw.summary()}")
        self.assertGreater(time.monotonic() - started, HEADER_TIMEOUT * 0.5)
        self.assertBackendGotNothing(self.app)

    def test_a_header_list_over_max_header_bytes_is_431(self):
        with H2Client(self.port) as client:
            fits = client.get("/fits", [("x-big", "f" * (MAX_HEADER_BYTES // 2))])
            over = client.get("/over", [("x-big", "o" * (MAX_HEADER_BYTES + 100))])
        self.assertEqual(fits.status, 200, str(fits))
        self.assertEqual(over.status, 431, str(over))
        self.assertEqual(self.app.targets(), ["/fits"])

    def test_an_hpack_bomb_is_431_with_bounded_memory(self):
        """4000 bytes in the dynamic table, referenced 1000 times: 4 MB decoded from 5 KB."""
        bomb = hpack_bomb(request_headers("GET", "/bomb"))
        with self.figures("HPACK bomb, 1 x 4000-byte entry referenced 1000 times") as figures:
            raw = self.raw()
            raw.send(headers_frame(1, bomb))
            raw.wait(lambda: raw.status(1) or raw.rst(1) is not None or raw.closed, 3.0)
        self.assertTrue(raw.status(1) == 431 or raw.rst(1) is not None or raw.goaways(),
                        raw.summary())
        self.assertEqual(figures.requests, 0)
        self.assertLess(figures.rss_peak - figures.rss_before, 16 << 20, "RSS grew by 16 MiB+")

    # Streams and timeouts.

    def test_a_stream_past_max_concurrent_streams_is_refused(self):
        raw = self.raw()
        self.assertTrue(raw.wait(lambda: any(getattr(f, "settings", None) for f in raw.frames),
                                 3.0), f"no SETTINGS from ringlb: {raw.summary()}")
        settings = next(f.settings for f in raw.frames if getattr(f, "settings", None))
        self.assertEqual(settings.get(SETTINGS_MAX_CONCURRENT_STREAMS), MAX_STREAMS)
        block = header_block(request_headers("GET", "/hang/held"))
        raw.send(b"".join(headers_frame(sid, block) for sid in range(1, 2 * MAX_STREAMS, 2)))
        self.assertTrue(wait_until(lambda: len(self.hang.heads) == MAX_STREAMS, 10.0),
                        f"{len(self.hang.heads)} of {MAX_STREAMS} streams reached the backend")
        extra = 2 * MAX_STREAMS + 1
        raw.send(headers_frame(extra, block))
        raw.wait(lambda: raw.rst(extra) is not None or raw.goaways() or raw.closed, 3.0)
        refused = raw.rst(extra) == REFUSED_STREAM or bool(raw.goaways())
        self.assertTrue(refused, f"stream {extra} not refused: {raw.summary()}")
        time.sleep(self.SETTLE)
        self.assertEqual(len(self.hang.heads), MAX_STREAMS, "the extra stream reached a backend")
        raw.close()
        self.assertTrue(wait_until(lambda: self.hang.peer_closed == MAX_STREAMS, 5.0),
                        f"{self.hang.peer_closed} of {MAX_STREAMS} backend connections closed "
                        f"after the client left")

    def test_a_connection_that_sends_only_the_preface_is_closed_at_the_header_timeout(self):
        for label, kwargs in (("preface and SETTINGS", {}), ("nothing", {"preface": False})):
            with self.subTest(label):
                started = time.monotonic()
                raw = self.raw(**kwargs)
                self.assertTrue(raw.wait_closed(HEADER_TIMEOUT + 2), f"{label}: still open")
                elapsed = time.monotonic() - started
                self.assertGreater(elapsed, HEADER_TIMEOUT * 0.5, f"{label}: closed at once")

    def test_an_idle_connection_is_closed_at_client_idle(self):
        client = H2Client(self.port, timeout=CLIENT_IDLE + 3)
        self.addCleanup(client.close)
        self.assertEqual(client.get("/x").status, 200)
        idle_since = time.monotonic()
        self.assertTrue(client.wait_closed(CLIENT_IDLE + 2), "idle connection still open")
        elapsed = client.closed_at - idle_since
        self.assertGreater(elapsed, CLIENT_IDLE * 0.75, f"closed after {elapsed:.2f} s")
        codes = [ERROR_NAMES.get(g.error_code) for g in client.goaways]
        self.assertIn(codes, ([], ["NO_ERROR"]), client.goaways)


if __name__ == "__main__":
    unittest.main()
