# Raw HTTP/2 frames for the integration tests: frames built with hyperframe where python-h2 would
# refuse to (floods, broken header blocks, streams past the limits), header blocks that leave the
# HPACK dynamic table alone (so they can be repeated and mixed with python-h2's own), and RawH2,
# a client that sends bytes as given and records every frame ringlb sends back. Needs Debian's
# python3-h2 (hyperframe, hpack).
from __future__ import annotations

import threading
import time

import h2_support  # noqa: F401  (Debian's python3-h2 from any Python 3)
import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame,
                              HeadersFrame, PingFrame, PriorityFrame, RstStreamFrame,
                              SettingsFrame, WindowUpdateFrame)

from harness_sockets import DEFAULT_TIMEOUT, connect

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# RFC 9113 §7 error codes.
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL = 0x5, 0x6, 0x7, 0x8
COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 0x9, 0xB
ERROR_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
               4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR",
               7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR",
               11: "ENHANCE_YOUR_CALM", 12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}
MAX_STREAM_ID = (1 << 31) - 1
SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_INITIAL_WINDOW_SIZE = 0x3, 0x4


def _b(text) -> bytes:
    return text if isinstance(text, bytes) else text.encode("latin-1")


def header_block(headers) -> bytes:
    """HPACK for `headers` as given (any bytes, any case, any order), never indexed: the
    block changes no dynamic table, so it can be sent any number of times on any connection."""
    return hpack.Encoder().encode([hpack.NeverIndexedHeaderTuple(_b(n), _b(v))
                                   for n, v in headers], huffman=False)


def request_headers(method="GET", path="/", extra=(), authority="h.test", scheme="http"):
    return [(":method", method), (":scheme", scheme), (":authority", authority),
            (":path", path), *extra]


def headers_frame(sid: int, block: bytes, *, end_stream: bool = True,
                  end_headers: bool = True) -> bytes:
    flags = [f for f, on in (("END_STREAM", end_stream), ("END_HEADERS", end_headers)) if on]
    return HeadersFrame(sid, data=block, flags=flags).serialize()


def continuation_frame(sid: int, block: bytes, *, end_headers: bool = False) -> bytes:
    return ContinuationFrame(sid, data=block, flags=["END_HEADERS"] if end_headers else []
                             ).serialize()


def data_frame(sid: int, data: bytes = b"", *, end_stream: bool = False) -> bytes:
    return DataFrame(sid, data=data, flags=["END_STREAM"] if end_stream else []).serialize()


def rst_frame(sid: int, code: int = CANCEL) -> bytes:
    return RstStreamFrame(sid, error_code=code).serialize()


def settings_frame(settings: dict[int, int] | None = None, *, ack: bool = False) -> bytes:
    if ack:
        return SettingsFrame(0, flags=["ACK"]).serialize()
    return SettingsFrame(0, settings=settings or {}).serialize()


def ping_frame(payload: bytes = b"\0" * 8) -> bytes:
    return PingFrame(0, opaque_data=payload).serialize()


def priority_frame(sid: int) -> bytes:
    return PriorityFrame(sid, depends_on=0, stream_weight=15).serialize()


def window_update_frame(sid: int, increment: int) -> bytes:
    return WindowUpdateFrame(sid, window_increment=increment).serialize()


class RawH2:
    """A client socket that writes bytes as given and parses every frame that comes back.

    With `preface`, the connection preface and an empty SETTINGS go first; ringlb's SETTINGS
    are acknowledged as they arrive unless `ack_settings` is False. `frames` holds everything
    received; `closed` turns true on EOF or a reset.
    """

    def __init__(self, port: int, *, timeout: float = DEFAULT_TIMEOUT, preface: bool = True,
                 settings: dict[int, int] | None = None, ack_settings: bool = True):
        self.sock = connect(port, timeout)
        self.timeout = timeout
        self.ack_settings = ack_settings
        self.frames: list[Frame] = []
        self.headers: dict[int, list[list[tuple[str, str]]]] = {}  # stream -> header blocks
        self.closed = False
        self.closed_at: float | None = None
        self.send_error: OSError | None = None
        self._decoder = hpack.Decoder()
        self._block: tuple[int, bytearray] | None = None  # a HEADERS awaiting CONTINUATION
        self._inbuf = bytearray()
        self._lock = threading.Lock()
        self._senders: list[threading.Thread] = []
        if preface:
            self.send(PREFACE + settings_frame(settings))

    def send(self, data: bytes) -> bool:
        """False when the write failed (ringlb closed first); the error is kept."""
        try:
            with self._lock:
                self.sock.sendall(data)
            return True
        except OSError as e:
            self.send_error = e
            return False

    def send_in_background(self, data: bytes, pieces: int = 1, pause: float = 0.0):
        """Writes `data` from a thread (in `pieces` writes, `pause` apart) while the test reads,
        so a flood cannot deadlock on full socket buffers in both directions."""
        size = -(-len(data) // pieces)

        def run():
            for start in range(0, len(data), size):
                if not self.send(data[start:start + size]):
                    return
                if pause:
                    time.sleep(pause)

        sender = threading.Thread(target=run, daemon=True)
        self._senders.append(sender)
        sender.start()

    def join_senders(self, timeout: float = 10.0):
        for sender in self._senders:
            sender.join(timeout)

    # Receiving.

    def pump(self, timeout: float) -> bool:
        if self.closed:
            return False
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(1 << 18)
        except TimeoutError:
            return True
        except OSError:
            data = b""
        if not data:
            self.closed, self.closed_at = True, time.monotonic()
            return False
        self._inbuf += data
        while len(self._inbuf) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(bytes(self._inbuf[:9])))
            if len(self._inbuf) < 9 + length:
                break
            frame.parse_body(memoryview(bytes(self._inbuf[9:9 + length])))
            del self._inbuf[:9 + length]
            self._take(frame)
        return True

    def _take(self, frame: Frame):
        self.frames.append(frame)
        if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags and self.ack_settings:
            self.send(settings_frame(ack=True))
        elif isinstance(frame, HeadersFrame):
            self._block = (frame.stream_id, bytearray(frame.data))
        elif isinstance(frame, ContinuationFrame) and self._block:
            self._block[1].extend(frame.data)
        if self._block and "END_HEADERS" in frame.flags:
            sid, block = self._block
            self._block = None
            fields = [(_s(n), _s(v)) for n, v in self._decoder.decode(bytes(block), raw=True)]
            self.headers.setdefault(sid, []).append(fields)

    def wait(self, predicate, timeout: float | None = None) -> bool:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0 or not self.pump(min(left, 0.2)):
                return predicate()
        return True

    def wait_closed(self, timeout: float) -> bool:
        return self.wait(lambda: self.closed, timeout)

    # What came back.

    def goaways(self) -> list[GoAwayFrame]:
        return [f for f in self.frames if isinstance(f, GoAwayFrame)]

    def goaway_codes(self) -> list[int]:
        return [f.error_code for f in self.goaways()]

    def rst(self, sid: int) -> int | None:
        """The error code of the RST_STREAM ringlb sent on `sid`, if any."""
        for frame in self.frames:
            if isinstance(frame, RstStreamFrame) and frame.stream_id == sid:
                return frame.error_code
        return None

    def resets(self) -> list[RstStreamFrame]:
        return [f for f in self.frames if isinstance(f, RstStreamFrame)]

    def status(self, sid: int) -> int | None:
        for block in self.headers.get(sid, []):
            for name, value in block:
                if name == ":status" and not value.startswith("1"):
                    return int(value)
        return None

    def summary(self, limit: int = 12) -> str:
        """What ringlb sent, for assertion messages."""
        kinds: dict[str, int] = {}
        for frame in self.frames:
            kinds[type(frame).__name__] = kinds.get(type(frame).__name__, 0) + 1
        notable = [f for f in self.frames if isinstance(f, (GoAwayFrame, RstStreamFrame))]
        shown = ", ".join(_describe(f) for f in notable[:limit])
        return (f"frames {kinds}; {shown}{' ...' if len(notable) > limit else ''}; "
                f"headers {dict(list(self.headers.items())[:4])}; closed={self.closed}")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _s(value) -> str:
    return bytes(value).decode("latin-1")


def _describe(frame: Frame) -> str:
    if isinstance(frame, GoAwayFrame):
        return (f"GOAWAY({ERROR_NAMES.get(frame.error_code, frame.error_code)}, "
                f"last={frame.last_stream_id})")
    return f"RST_STREAM({frame.stream_id}, {ERROR_NAMES.get(frame.error_code, frame.error_code)})"
