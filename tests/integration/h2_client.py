# The python-h2 client of the HTTP/2 integration tests: one connection (h2c prior knowledge, or
# h2 over TLS), many streams, request bodies sent as fast as the windows allow, responses kept
# per stream with their SHA-256, and GOAWAY tolerated (python-h2 alone treats every frame after
# a GOAWAY as an error; a graceful drain sends DATA after it). Needs Debian's python3-h2 (h2_support.py finds it).
from __future__ import annotations

import hashlib
import socket
import time
from dataclasses import dataclass, field

import h2_support  # noqa: F401  (Debian's python3-h2 from any Python 3)
import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from harness_sockets import DEFAULT_TIMEOUT, connect

BODY_CAP = 1 << 20  # response bytes kept whole per stream; the digest covers everything
_FRAME_HEADER = 9


@dataclass
class Goaway:
    error_code: int
    last_stream_id: int
    at: float  # time.monotonic() on receipt


@dataclass
class Stream:
    """One stream as the client saw it."""

    id: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    informational: list[list[tuple[str, str]]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)  # the first BODY_CAP bytes
    body_len: int = 0
    trailers: list[tuple[str, str]] | None = None
    ended: bool = False  # END_STREAM received
    reset: int | None = None  # the RST_STREAM error code received
    opened: float = field(default_factory=time.monotonic)
    finished: float | None = None
    _digest: object = field(default_factory=hashlib.sha256, repr=False)

    @property
    def status(self) -> int | None:
        value = self.header(":status")
        return int(value) if value is not None else None

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers if k == name.lower()]
        return found[0] if found else None

    @property
    def done(self) -> bool:
        return self.ended or self.reset is not None

    @property
    def body_sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def seconds(self) -> float | None:
        return None if self.finished is None else self.finished - self.opened

    def __str__(self):
        return (f"stream {self.id}: headers={self.headers} body={bytes(self.body[:200])!r} "
                f"({self.body_len} bytes) trailers={self.trailers} ended={self.ended} "
                f"reset={self.reset}")


def _text(pairs) -> list[tuple[str, str]]:
    return [(bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in pairs]


class H2Client:
    """An HTTP/2 client connection to 127.0.0.1:`port` (TLS when `sock` is given ready-made).

    `strict=False` turns off python-h2's checks of what it sends, so the hardening vectors can
    send what a conforming client never would. `window` raises the client's receive windows.
    """

    def __init__(self, port: int | None = None, *, sock: socket.socket | None = None,
                 timeout: float = DEFAULT_TIMEOUT, strict: bool = True,
                 window: int | None = None, authority: str = "h.test", scheme: str = "http"):
        self.sock = sock if sock is not None else connect(port, timeout)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.authority = authority
        self.scheme = scheme
        config = h2.config.H2Configuration(
            client_side=True, header_encoding=None, validate_outbound_headers=strict,
            normalize_outbound_headers=strict, validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if window:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
            self.conn.increment_flow_control_window(window)
        self.streams: dict[int, Stream] = {}
        self.goaways: list[Goaway] = []
        self.closed = False  # EOF or reset from ringlb
        self.closed_at: float | None = None
        self.held: set[int] = set()  # streams whose receive window the client keeps shut
        self.received_settings: dict[int, int] = {}
        self._uploads: dict[int, list] = {}  # stream id -> [pending bytes, iterator]
        self._inbuf = bytearray()
        self.flush()

    # Sending.

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.closed:
            try:
                self.sock.sendall(data)
            except OSError:
                self._mark_closed()

    def send_raw(self, data: bytes):
        """Bytes straight onto the socket (frames python-h2 refuses to build)."""
        self.flush()
        self.sock.sendall(data)

    def headers(self, method: str = "GET", path: str = "/", extra=(), *,
                authority: str | None = None) -> list[tuple[str, str]]:
        return [(":method", method), (":scheme", self.scheme),
                (":authority", authority or self.authority), (":path", path), *extra]

    def open(self, header_list, body=None, *, end_stream: bool | None = None) -> int:
        """Opens a stream with exactly `header_list`; `body` (bytes or an iterable of bytes)
        is sent as the windows allow, then END_STREAM. Returns the stream id."""
        sid = self.conn.get_next_available_stream_id()
        end = body is None if end_stream is None else end_stream
        self.conn.send_headers(sid, header_list, end_stream=end)
        self.streams[sid] = Stream(sid)
        if body is not None:
            self._uploads[sid] = [b"", iter([body]) if isinstance(body, bytes) else iter(body)]
            self._push_uploads()
        self.flush()
        return sid

    def request(self, method: str = "GET", path: str = "/", extra=(), body=None, *,
                authority: str | None = None) -> int:
        return self.open(self.headers(method, path, extra, authority=authority), body)

    def reset(self, sid: int, code: int = 8):
        """RST_STREAM (default CANCEL) on `sid`."""
        self._uploads.pop(sid, None)
        self.conn.reset_stream(sid, code)
        self.flush()

    def hold(self, sid: int):
        """Keeps `sid`'s receive window shut (the connection window still opens)."""
        self.held.add(sid)

    def _push_uploads(self):
        for sid in list(self._uploads):
            pending, source = self._uploads[sid]
            try:
                while True:
                    if not pending:
                        pending = next(source, None)
                        if pending is None:
                            self.conn.end_stream(sid)
                            del self._uploads[sid]
                            break
                    room = min(self.conn.local_flow_control_window(sid),
                               self.conn.max_outbound_frame_size)
                    if room <= 0:
                        self._uploads[sid][0] = pending
                        break
                    self.conn.send_data(sid, pending[:room])
                    pending = pending[room:]
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                self._uploads.pop(sid, None)  # reset by ringlb: its answer says why

    # Receiving.

    def pump(self, timeout: float) -> bool:
        """Sends what the windows allow, then handles what arrives within `timeout`.
        False once the connection is closed."""
        self._push_uploads()
        self.flush()
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
            self._mark_closed()
            return False
        self._feed(data)
        self._push_uploads()
        self.flush()
        return True

    def _feed(self, data: bytes):
        """One frame at a time, so that a GOAWAY can be acknowledged before the next frame."""
        self._inbuf += data
        while len(self._inbuf) >= _FRAME_HEADER:
            size = _FRAME_HEADER + int.from_bytes(self._inbuf[:3], "big")
            if len(self._inbuf) < size:
                return
            frame = bytes(self._inbuf[:size])
            del self._inbuf[:size]
            for event in self.conn.receive_data(frame):
                self._handle(event)

    def _handle(self, event):
        stream = self.streams.get(getattr(event, "stream_id", None) or 0)
        if isinstance(event, h2.events.ResponseReceived):
            stream.headers = _text(event.headers)
        elif isinstance(event, h2.events.InformationalResponseReceived):
            stream.informational.append(_text(event.headers))
        elif isinstance(event, h2.events.TrailersReceived):
            stream.trailers = _text(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            self._take_data(stream, event)
        elif isinstance(event, h2.events.StreamEnded):
            stream.ended, stream.finished = True, time.monotonic()
        elif isinstance(event, h2.events.StreamReset):
            if stream is not None:
                stream.reset, stream.finished = int(event.error_code), time.monotonic()
            self._uploads.pop(event.stream_id, None)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaways.append(Goaway(int(event.error_code), event.last_stream_id,
                                       time.monotonic()))
            # python-h2 closes its state machine on any GOAWAY; a graceful one still lets
            # the streams at or below last_stream_id finish, so keep reading them.
            self.conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for code, setting in event.changed_settings.items():
                self.received_settings[int(code)] = setting.new_value

    def _take_data(self, stream: Stream, event):
        if stream is not None:
            stream.body_len += len(event.data)
            stream._digest.update(event.data)
            room = BODY_CAP - len(stream.body)
            if room > 0:
                stream.body += event.data[:room]
        length = event.flow_controlled_length
        if event.stream_id in self.held:
            self.conn.increment_flow_control_window(length)  # the connection only
        elif length:
            self.conn.acknowledge_received_data(length, event.stream_id)

    def _mark_closed(self):
        if not self.closed:
            self.closed, self.closed_at = True, time.monotonic()

    def wait(self, predicate, timeout: float | None = None) -> bool:
        """Pumps until `predicate()` holds (True), or the time is up or the connection has
        closed with it still false (False)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0 or not self.pump(min(left, 0.2)):
                return predicate()
        return True

    def response(self, sid: int, timeout: float | None = None) -> Stream:
        """The stream once it has ended or been reset; AssertionError when it does not."""
        stream = self.streams[sid]
        if not self.wait(lambda: stream.done, timeout):
            raise AssertionError(f"stream {sid} not done (closed={self.closed}, "
                                 f"goaways={self.goaways}): {stream}")
        return stream

    def get(self, path: str = "/", extra=(), timeout: float | None = None, **kw) -> Stream:
        return self.response(self.request("GET", path, extra, **kw), timeout)

    def wait_closed(self, timeout: float) -> bool:
        """True once ringlb has closed the connection (EOF or reset) within `timeout`."""
        return self.wait(lambda: self.closed, timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
