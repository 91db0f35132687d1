# HTTP pieces for the integration tests: a recording keep-alive HTTP/1.1 backend, fault backends,
# a raw-socket client that reads responses byte-exactly, the http config builder, RSS sampling
# and the test bases that share them. Python 3.11 stdlib only; everything binds 127.0.0.1.
from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from harness import (DEFAULT_TIMEOUT, HOST, Ringlb, RinglbTestCase, _ThreadedServer, connect,
                     free_port, ringlb_bin, rss_bytes, runtime_user_lines, wait_until,
                     write_config)

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
MiB = 1 << 20


# --- deterministic payloads -----------------------------------------------------------------

_BLOCK = 1 << 16
_BASE = random.Random(0x5EED).randbytes(_BLOCK)


def pattern_chunks(n: int):
    """`n` bytes of pseudo-random data in 64 KiB pieces, never held whole.

    Piece i starts with i as 8 big-endian bytes, so a dropped, repeated or reordered piece
    changes the digest even though the rest of each piece is the same.
    """
    index, left = 0, n
    while left > 0:
        piece = index.to_bytes(8, "big") + _BASE[8:]
        if left < _BLOCK:
            piece = piece[:left]
        yield piece
        left -= len(piece)
        index += 1


def pattern_bytes(n: int) -> bytes:
    return b"".join(pattern_chunks(n))


def pattern_sha256(n: int) -> str:
    digest = hashlib.sha256()
    for piece in pattern_chunks(n):
        digest.update(piece)
    return digest.hexdigest()


def rechunk(pieces, size: int):
    """The same bytes as `pieces`, re-cut into pieces of `size` bytes (the last may be shorter)."""
    pending = bytearray()
    for piece in pieces:
        pending += piece
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


def chunked_encode(pieces, extension: bytes = b"", trailers: bytes = b"") -> bytes:
    """HTTP/1.1 chunked framing of `pieces`; `trailers` are raw `Name: value\\r\\n` lines."""
    out = bytearray()
    for piece in pieces:
        if piece:
            out += b"%x%s\r\n%s\r\n" % (len(piece), extension, piece)
    out += b"0\r\n" + trailers + b"\r\n"
    return bytes(out)


# --- parsed messages ------------------------------------------------------------------------


def _find(headers, name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def _tokens(headers, name: str) -> list[str]:
    """The comma-separated, lower-cased tokens of every `name` field."""
    found = []
    for value in _find(headers, name):
        found += [token.strip().lower() for token in value.split(",") if token.strip()]
    return found


def parse_fields(lines: list[bytes]) -> list[tuple[str, str]]:
    """`Name: value` lines into (name, value) with the value trimmed; raises on a bad line."""
    fields = []
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or b" " in name:
            raise ValueError(f"bad header line {line!r}")
        fields.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return fields


@dataclass
class Request:
    """One request as the backend received it (after ringlb re-serialized it)."""

    conn: int  # 1-based index of the backend connection that carried it
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    raw_head: bytes
    framing: str  # "none" | "length" | "chunked"
    content_length: int | None = None
    body: bytearray = field(default_factory=bytearray)  # the first BODY_CAP bytes
    body_len: int = 0
    complete: bool = False  # the whole body (and chunked terminator) arrived
    trailers: list[tuple[str, str]] = field(default_factory=list)
    chunk_extensions: list[bytes] = field(default_factory=list)
    _digest: object = field(default_factory=hashlib.sha256, repr=False)

    def header(self, name: str) -> str | None:
        found = _find(self.headers, name)
        return found[0] if found else None

    def headers_named(self, name: str) -> list[str]:
        return _find(self.headers, name)

    def tokens(self, name: str) -> list[str]:
        return _tokens(self.headers, name)

    @property
    def body_sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def path(self) -> str:
        return urlsplit(self.target).path if self.target.startswith("/") else self.target


@dataclass
class Response:
    """One response as the client received it."""

    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    raw_head: bytes
    framing: str = "none"  # "none" | "length" | "chunked" | "close"
    body: bytes = b""
    body_len: int = 0
    trailers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        found = _find(self.headers, name)
        return found[0] if found else None

    def headers_named(self, name: str) -> list[str]:
        return _find(self.headers, name)

    def tokens(self, name: str) -> list[str]:
        return _tokens(self.headers, name)

    @property
    def closes(self) -> bool:
        return "close" in self.tokens("Connection")

    def json(self):
        return json.loads(self.body)

    def __str__(self):
        body = self.body[:200]
        return f"{self.status} {self.reason} {self.headers} body={body!r}"


class NoResponse(Exception):
    """The connection ended (how = "eof" | "reset") before a whole response head arrived."""

    def __init__(self, how: str, data: bytes):
        super().__init__(f"connection {how} before a response head; got {data[:300]!r}")
        self.how = how
        self.data = data


class IncompleteResponse(Exception):
    """The head arrived but the connection ended before the body was complete."""

    def __init__(self, response: Response, how: str, detail: str):
        super().__init__(f"{response.status} response cut short ({how}): {detail}")
        self.response = response
        self.how = how


# --- the raw client -------------------------------------------------------------------------


def build_request(method: str = "GET", target: str = "/", headers=(), body: bytes = b"", *,
                  host: str | None = "test.local", version: str = "HTTP/1.1",
                  chunked: bool = False, chunk_size: int = 4096) -> bytes:
    """Exact request bytes. Host comes first unless host=None; Content-Length is added for a
    body unless chunked=True or `headers` already frame it."""
    lines = [f"{method} {target} {version}".encode()]
    if host is not None:
        lines.append(b"Host: " + host.encode())
    names = set()
    for name, value in headers:
        names.add(name.lower())
        lines.append(name.encode("latin-1") + b": " + value.encode("latin-1"))
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
        payload = chunked_encode(rechunk([body], chunk_size))
    else:
        if body and "content-length" not in names and "transfer-encoding" not in names:
            lines.append(b"Content-Length: %d" % len(body))
        payload = body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


class HttpConn:
    """A client connection that sends exact bytes and reads responses byte-exactly.

    Bytes past the current response stay buffered for the next read (pipelining). Every read
    has a deadline; nothing blocks longer than its timeout.
    """

    def __init__(self, port: int, timeout: float = DEFAULT_TIMEOUT):
        self.port = port
        self.timeout = timeout
        self.sock = connect(port, timeout)
        self.buf = bytearray()
        self.eof = False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def try_send(self, data: bytes) -> OSError | None:
        """Sends, but returns the error instead of raising when the proxy closed early."""
        try:
            self.send(data)
            return None
        except OSError as e:
            return e

    # Reading.

    def _recv(self, deadline: float, size: int = 1 << 16) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        self.sock.settimeout(remaining)
        return self.sock.recv(size)

    def _fill(self, deadline: float) -> bool:
        """Appends received bytes to buf; False on EOF."""
        if self.eof:
            return False
        data = self._recv(deadline)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _line(self, deadline: float, limit: int = 1 << 16) -> bytes | None:
        """One line without its CRLF, or None on EOF first."""
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[:end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > limit:
                raise ValueError(f"line longer than {limit}: {bytes(self.buf[:100])!r}")
            if not self._fill(deadline):
                return None

    def read_head(self, deadline: float) -> Response:
        try:
            while b"\r\n\r\n" not in self.buf:
                if len(self.buf) > (1 << 20):
                    raise ValueError("response head over 1 MiB")
                if not self._fill(deadline):
                    raise NoResponse("eof", bytes(self.buf))
        except ConnectionResetError:
            raise NoResponse("reset", bytes(self.buf)) from None
        end = self.buf.find(b"\r\n\r\n")
        raw = bytes(self.buf[:end + 4])
        del self.buf[:end + 4]
        lines = raw[:-4].split(b"\r\n")
        match = re.match(rb"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not match:
            raise ValueError(f"bad status line {lines[0]!r}")
        return Response(match.group(1).decode(), int(match.group(2)),
                        (match.group(3) or b"").decode("latin-1"), parse_fields(lines[1:]), raw)

    def read_response(self, timeout: float | None = None, *, method: str = "GET", sink=None,
                      keep_body: bool = True) -> Response:
        """The next response (a 1xx counts as one). Body framing per RFC 9112 §6.3.

        `sink(piece)` sees every body piece as it arrives; keep_body=False does not store it.
        Raises NoResponse, IncompleteResponse, TimeoutError.
        """
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        response = self.read_head(deadline)
        pieces = []

        def take(piece: bytes):
            response.body_len += len(piece)
            if sink:
                sink(piece)
            if keep_body:
                pieces.append(piece)

        try:
            self._read_body(response, method, deadline, take)
        except (ConnectionResetError, EOFError) as e:
            response.body = b"".join(pieces)
            how = "reset" if isinstance(e, ConnectionResetError) else "eof"
            raise IncompleteResponse(response, how, str(e)) from None
        response.body = b"".join(pieces)
        return response

    def _read_body(self, response: Response, method: str, deadline: float, take):
        no_body = (100 <= response.status < 200 or response.status in (204, 304)
                   or method == "HEAD")
        encodings = response.tokens("Transfer-Encoding")
        lengths = response.headers_named("Content-Length")
        if no_body:
            response.framing = "none"
        elif encodings:
            if encodings[-1] != "chunked":
                raise ValueError(f"response with Transfer-Encoding {encodings}")
            response.framing = "chunked"
            self._read_chunked(response, deadline, take)
        elif lengths:
            values = {v.strip() for value in lengths for v in value.split(",")}
            if len(values) != 1 or not values.copy().pop().isdigit():
                raise ValueError(f"response with Content-Length {lengths}")
            response.framing = "length"
            self._read_exact(int(values.pop()), deadline, take)
        else:
            response.framing = "close"
            while True:
                if self.buf:
                    take(bytes(self.buf))
                    self.buf.clear()
                if not self._fill(deadline):
                    return

    def _read_exact(self, n: int, deadline: float, take):
        left = n
        while left > 0:
            if not self.buf and not self._fill(deadline):
                raise EOFError(f"EOF after {n - left} of {n} body bytes")
            piece = bytes(self.buf[:left])
            del self.buf[:len(piece)]
            left -= len(piece)
            take(piece)

    def _read_chunked(self, response: Response, deadline: float, take):
        total = 0
        while True:
            line = self._line(deadline)
            if line is None:
                raise EOFError(f"EOF in chunk size line after {total} body bytes")
            size_text = line.split(b";", 1)[0].strip()
            size = int(size_text, 16)
            if size == 0:
                break
            self._read_exact(size, deadline, take)
            total += size
            if self._line(deadline) != b"":
                raise ValueError("chunk not followed by CRLF")
        trailer_lines = []
        while True:
            line = self._line(deadline)
            if line is None:
                raise EOFError("EOF in trailers")
            if line == b"":
                break
            trailer_lines.append(line)
        response.trailers = parse_fields(trailer_lines)

    def request(self, method: str = "GET", target: str = "/", headers=(), body: bytes = b"",
                timeout: float | None = None, **options) -> Response:
        """Sends one request and reads its final response (1xx interim responses skipped)."""
        self.send(build_request(method, target, headers, body, **options))
        while True:
            response = self.read_response(timeout, method=method)
            if response.status >= 200 or response.status == 101:
                return response

    def read_until_closed(self, timeout: float) -> tuple[bytes, str]:
        """Everything up to the peer's close: (bytes, "eof" | "reset" | "timeout")."""
        deadline = time.monotonic() + timeout
        data = bytes(self.buf)
        self.buf.clear()
        while True:
            try:
                chunk = self._recv(deadline)
            except (TimeoutError, socket.timeout):
                return data, "timeout"
            except ConnectionResetError:
                return data, "reset"
            if not chunk:
                self.eof = True
                return data, "eof"
            data += chunk

    def closed_within(self, timeout: float) -> bool:
        return self.read_until_closed(timeout)[1] != "timeout"


def get(port: int, target: str = "/", headers=(), timeout: float = DEFAULT_TIMEOUT,
        **options) -> Response:
    """One request on a fresh connection."""
    with HttpConn(port, timeout) as conn:
        return conn.request("GET", target, headers, timeout=timeout, **options)


# --- the recording backend ------------------------------------------------------------------


class _Reader:
    """Buffered reads from a backend-side socket; every received byte is reported."""

    def __init__(self, sock: socket.socket, on_bytes):
        self.sock = sock
        self.buf = bytearray()
        self.on_bytes = on_bytes

    def fill(self) -> bool:
        data = self.sock.recv(1 << 16)
        if not data:
            return False
        self.on_bytes(data)
        self.buf += data
        return True

    def head(self, limit: int = 1 << 20) -> bytes | None:
        """Bytes through the blank line; None on EOF before any byte; EOFError mid-head."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.buf[:end + 4])
                del self.buf[:end + 4]
                return head
            if len(self.buf) > limit:
                raise ValueError("request head over limit")
            if not self.fill():
                if self.buf:
                    raise EOFError(f"EOF inside a head: {bytes(self.buf[:200])!r}")
                return None

    def line(self, limit: int = 1 << 16) -> bytes:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[:end + 2]
                return line
            if len(self.buf) > limit:
                raise ValueError("line over limit")
            if not self.fill():
                raise EOFError("EOF inside a line")

    def exact(self, n: int, take):
        left = n
        while left > 0:
            if not self.buf and not self.fill():
                raise EOFError(f"EOF with {left} of {n} bytes missing")
            piece = bytes(self.buf[:left])
            del self.buf[:len(piece)]
            left -= len(piece)
            take(piece)

    def take_buffered(self) -> bytes:
        data = bytes(self.buf)
        self.buf.clear()
        return data


@dataclass
class BackendConn:
    index: int
    raw: bytearray = field(default_factory=bytearray)  # the first RAW_CAP bytes received
    received: int = 0
    requests: list[Request] = field(default_factory=list)
    closed: bool = False


def parse_request_head(raw: bytes, conn: int) -> Request:
    lines = raw[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise ValueError(f"bad request line {lines[0]!r}")
    method, target, version = (p.decode("latin-1") for p in parts)
    headers = parse_fields(lines[1:])
    request = Request(conn, method, target, version, headers, raw, "none")
    encodings = request.tokens("Transfer-Encoding")
    lengths = request.headers_named("Content-Length")
    if encodings:
        if encodings != ["chunked"] or lengths:
            raise ValueError(f"ambiguous framing from the proxy: TE {encodings} CL {lengths}")
        request.framing = "chunked"
    elif lengths:
        if len(lengths) != 1 or not lengths[0].isdigit():
            raise ValueError(f"Content-Length from the proxy not normalized: {lengths}")
        request.framing = "length"
        request.content_length = int(lengths[0])
    return request


class HttpBackend(_ThreadedServer):
    """A keep-alive HTTP/1.1 server that records what it receives and answers by path.

    Records: `requests` (every request head, body, completeness), `conns` (raw bytes per
    connection), `bytes_received`, `connections` (TCP accepts). Paths:
      /echo...            200 JSON of the request: method, target, version, headers, body
      /stream/N           N pattern bytes with Content-Length, streamed (?chunk=K pieces)
      /chunked/N          N pattern bytes, chunked (?chunk=K, default 16 KiB)
      /until-close/N      N pattern bytes, no length: ends by closing
      /drip/P/MS          P pieces of 100 bytes with Content-Length, MS ms apart
      /delay/MS...        waits MS ms, then the default answer
      /status/CODE        that status with a short body
      /close              the default answer with Connection: close, then closes
      /ws                 Upgrade: websocket -> 101, a greeting, then echoes bytes until EOF
      /unsolicited-101    101 without being asked, then echoes
      /extra-bytes        Content-Length: 2 "ok" followed by a forged second response
      /hop-by-hop         a response carrying hop-by-hop fields
      /expect-reject      with Expect: 100-continue: 417 at once, without reading the body
      anything else       200 "NAME METHOD TARGET\\n"
    Every response has X-Backend: NAME and X-Backend-Conn: INDEX. HEAD gets no body.
    `idle_close`: close a keep-alive connection idle that long (a stale pooled connection).
    `body_delay`: wait that long before reading a request body (backpressure tests).
    Health checks: requests for `health_path` ("/healthz") are answered with `health_status`
    and `health_body` (a test flips them), counted in `health_checks`, and not recorded in
    `requests`, so traffic counts never include probes. `forced_status`, when set, answers
    every other request with that status (a backend failing its real traffic).
    """

    RAW_CAP = 1 << 20
    BODY_CAP = 8 << 20

    def __init__(self, name: str = "backend", *, idle_close: float | None = None,
                 body_delay: float = 0.0, send_continue: bool = True,
                 health_path: str = "/healthz"):
        self.name = name
        self.idle_close = idle_close
        self.body_delay = body_delay
        self.send_continue = send_continue
        self.health_path = health_path
        self.health_status = 200
        self.health_body = b"ok\n"
        self.health_checks = 0
        self.forced_status: int | None = None
        self._records = threading.Lock()
        self.requests: list[Request] = []
        self.conns: list[BackendConn] = []
        self.errors: list[str] = []
        self.bytes_received = 0
        super().__init__()

    def reset(self):
        """Forgets what was recorded. Connections still open stay listed (with their counts
        zeroed), so bytes that later arrive on them are still seen."""
        with self._records:
            self.requests = []
            self.conns = [c for c in self.conns if not c.closed]
            for record in self.conns:
                record.raw.clear()
                record.received = 0
                record.requests = []
            self.errors = []
            self.bytes_received = 0
            self.connections = 0

    def received_text(self, limit: int = 600) -> str:
        with self._records:
            raw = b"".join(bytes(c.raw[:limit]) for c in self.conns)
        return repr(raw[:limit])

    def targets(self) -> list[str]:
        with self._records:
            return [r.target for r in self.requests]

    def _note(self, record: BackendConn, data: bytes):
        with self._records:
            self.bytes_received += len(data)
            record.received += len(data)
            room = self.RAW_CAP - len(record.raw)
            if room > 0:
                record.raw += data[:room]

    def handle(self, conn):
        with self._records:
            record = BackendConn(len(self.conns) + 1)
            self.conns.append(record)
        reader = _Reader(conn, lambda data: self._note(record, data))
        try:
            self._serve_requests(conn, reader, record)
        except (EOFError, ValueError) as e:
            with self._records:
                self.errors.append(f"conn {record.index}: {e}")
        finally:
            record.closed = True

    def _serve_requests(self, conn, reader: _Reader, record: BackendConn):
        while True:
            if self.idle_close is not None and not reader.buf:
                conn.settimeout(self.idle_close)
                try:
                    if not reader.fill():
                        return
                except TimeoutError:
                    return  # idle: close it, as a server with a keep-alive timeout does
                conn.settimeout(self.conn_timeout)
            raw = reader.head()
            if raw is None:
                return
            try:
                request = parse_request_head(raw, record.index)
            except ValueError:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                raise
            if request.path == self.health_path:
                if not self._answer_health(conn, reader, request):
                    return
                continue
            with self._records:
                self.requests.append(request)
                record.requests.append(request)
            if not self._respond(conn, reader, request):
                return

    def _read_body(self, reader: _Reader, request: Request):
        def take(piece: bytes):
            request.body_len += len(piece)
            request._digest.update(piece)
            room = self.BODY_CAP - len(request.body)
            if room > 0:
                request.body += piece[:room]

        if request.framing == "length":
            reader.exact(request.content_length, take)
        elif request.framing == "chunked":
            while True:
                line = reader.line()
                size_text, _, extension = line.partition(b";")
                if extension:
                    request.chunk_extensions.append(extension)
                size = int(size_text, 16)
                if size == 0:
                    break
                reader.exact(size, take)
                if reader.line() != b"":
                    raise ValueError("chunk data not followed by CRLF")
            trailer_lines = []
            while (line := reader.line()) != b"":
                trailer_lines.append(line)
            request.trailers = parse_fields(trailer_lines)
        request.complete = True

    def _send(self, conn, status: int, headers=(), body: bytes = b"", *, request: Request,
              reason: str | None = None, close: bool = False, length: int | None = None):
        reason = reason or _REASONS.get(status, "Status")
        lines = [f"HTTP/1.1 {status} {reason}", f"X-Backend: {self.name}",
                 f"X-Backend-Conn: {request.conn}"]
        lines += [f"{name}: {value}" for name, value in headers]
        framed = any(name.lower() in ("content-length", "transfer-encoding")
                     for name, _ in headers)
        if not framed and status >= 200 and status not in (204, 304):
            lines.append(f"Content-Length: {len(body) if length is None else length}")
        if close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        conn.sendall(head if request.method == "HEAD" else head + body)

    def _wants_close(self, request: Request) -> bool:
        tokens = request.tokens("Connection")
        if request.version == "HTTP/1.0":
            return "keep-alive" not in tokens
        return "close" in tokens

    def _respond(self, conn, reader: _Reader, request: Request) -> bool:
        """Answers one request; False when the connection must close afterwards."""
        path = request.path
        parts = path.strip("/").split("/")
        query = parse_qs(urlsplit(request.target).query) if request.target.startswith("/") else {}
        expects = "100-continue" in request.tokens("Expect")
        if expects and path.startswith("/expect-reject"):
            self._send(conn, 417, [("Content-Type", "text/plain")], b"no thanks\n",
                       request=request, close=True)
            return False
        if expects and self.send_continue:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if self.body_delay and request.framing != "none":
            time.sleep(self.body_delay)
        self._read_body(reader, request)
        close = self._wants_close(request)
        head_only = request.method == "HEAD"

        if self.forced_status is not None:
            self._send(conn, self.forced_status, [("Content-Type", "text/plain")],
                       f"{self.name} forced {self.forced_status}\n".encode(), request=request,
                       close=close)
        elif parts[0] == "echo":
            self._send(conn, 200, [("Content-Type", "application/json")],
                       json.dumps(self._echo(request)).encode(), request=request, close=close)
        elif parts[0] == "stream" and len(parts) > 1:
            size = int(parts[1])
            self._send(conn, 200, [("Content-Type", "application/octet-stream")],
                       request=request, close=close, length=size)
            if not head_only:
                chunk = int(query.get("chunk", [_BLOCK])[0])
                for piece in rechunk(pattern_chunks(size), chunk):
                    conn.sendall(piece)
        elif parts[0] == "chunked" and len(parts) > 1:
            size = int(parts[1])
            chunk = int(query.get("chunk", [16384])[0])
            self._send(conn, 200, [("Transfer-Encoding", "chunked")], request=request,
                       close=close)
            if not head_only:
                for piece in rechunk(pattern_chunks(size), chunk):
                    conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                conn.sendall(b"0\r\n\r\n")
        elif parts[0] == "until-close" and len(parts) > 1:
            conn.sendall(f"HTTP/1.1 200 OK\r\nX-Backend: {self.name}\r\n"
                         f"Connection: close\r\n\r\n".encode())
            for piece in pattern_chunks(int(parts[1])):
                conn.sendall(piece)
            return False
        elif parts[0] == "drip" and len(parts) > 2:
            pieces, pause = int(parts[1]), int(parts[2]) / 1000
            self._send(conn, 200, [], request=request, close=close, length=100 * pieces)
            for _ in range(pieces if not head_only else 0):
                conn.sendall(b"d" * 100)
                time.sleep(pause)
        elif parts[0] == "delay" and len(parts) > 1:
            time.sleep(int(parts[1]) / 1000)
            self._default(conn, request, close)
        elif parts[0] == "status" and len(parts) > 1:
            code = int(parts[1])
            body = b"" if code in (204, 304) else f"status {code}\n".encode()
            self._send(conn, code, [("Content-Type", "text/plain")], body, request=request,
                       close=close)
        elif parts[0] == "close":
            self._default(conn, request, True)
            return False
        elif parts[0] == "ws":
            return self._websocket(conn, reader, request)
        elif parts[0] == "unsolicited-101":
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                         b"Upgrade: websocket\r\n\r\ntunnel-bytes-from-backend")
            self._echo_bytes(conn, reader)
            return False
        elif parts[0] == "extra-bytes":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                         b"HTTP/1.1 200 OK\r\nX-Forged: yes\r\nContent-Length: 8\r\n\r\n"
                         b"injected")
        elif parts[0] == "hop-by-hop":
            self._send(conn, 200, [("Connection", "X-Secret"), ("X-Secret", "hop"),
                                   ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "close"),
                                   ("X-Public", "end-to-end")],
                       b"hop\n", request=request, close=close)
        else:
            self._default(conn, request, close)
        return not close

    def set_health(self, status: int, body: bytes | None = None):
        """What the next health checks get: `status`, and `body` when given."""
        self.health_status = status
        if body is not None:
            self.health_body = body

    def _answer_health(self, conn, reader: _Reader, request: Request) -> bool:
        self._read_body(reader, request)
        with self._records:
            self.health_checks += 1
        close = self._wants_close(request)
        self._send(conn, self.health_status, [("Content-Type", "text/plain")], self.health_body,
                   request=request, close=close)
        return not close

    def _default(self, conn, request: Request, close: bool):
        body = f"{self.name} {request.method} {request.target}\n".encode()
        self._send(conn, 200, [("Content-Type", "text/plain")], body, request=request,
                   close=close)

    def _echo(self, request: Request) -> dict:
        small = request.body_len <= 65536
        return {"backend": self.name, "conn": request.conn, "method": request.method,
                "target": request.target, "version": request.version,
                "headers": request.headers, "framing": request.framing,
                "body_len": request.body_len, "body_sha256": request.body_sha256,
                "body": bytes(request.body).decode("latin-1") if small else None,
                "trailers": request.trailers}

    def _websocket(self, conn, reader: _Reader, request: Request) -> bool:
        upgrade = [t for t in request.tokens("Upgrade")]
        if "websocket" not in upgrade or "upgrade" not in request.tokens("Connection"):
            self._send(conn, 426, [("Content-Type", "text/plain")], b"upgrade required\n",
                       request=request, close=True)
            return False
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: test\r\n\r\n"
                     b"hello from backend\n")
        self._echo_bytes(conn, reader)
        return False

    def _echo_bytes(self, conn, reader: _Reader):
        pending = reader.take_buffered()
        if pending:
            conn.sendall(pending)
        while reader.fill():
            conn.sendall(reader.take_buffered())


_REASONS = {100: "Continue", 101: "Switching Protocols", 200: "OK", 204: "No Content",
            304: "Not Modified", 400: "Bad Request", 404: "Not Found",
            417: "Expectation Failed", 426: "Upgrade Required", 500: "Internal Server Error",
            503: "Service Unavailable"}


# --- fault backends -------------------------------------------------------------------------


class FaultBackend(_ThreadedServer):
    """A backend that misbehaves after reading a request head.

    mode "reset": RST at once, no response. "close": FIN, no response. "hang": never answers,
    holds the connection until the peer closes it. "raw": sends `raw`, then `after` =
    "close" | "hold" | "reset". Records `bytes_received`, `heads` (request heads read),
    `connections`, and `peer_closed` (connections the peer closed while held).
    """

    def __init__(self, mode: str, raw: bytes = b"", after: str = "close"):
        assert mode in ("reset", "close", "hang", "raw"), mode
        assert after in ("close", "hold", "reset"), after
        self.mode = mode
        self.raw = raw
        self.after = after
        self._records = threading.Lock()
        self.bytes_received = 0
        self.heads: list[bytes] = []
        self.peer_closed = 0
        super().__init__()

    def _recv(self, conn) -> bytes:
        data = conn.recv(1 << 16)
        with self._records:
            self.bytes_received += len(data)
        return data

    def handle(self, conn):
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            data = self._recv(conn)
            if not data:
                return
            buf += data
        with self._records:
            self.heads.append(bytes(buf[:buf.find(b"\r\n\r\n") + 4]))
        action = self.mode
        if self.mode == "raw":
            conn.sendall(self.raw)
            action = {"close": "close", "hold": "hang", "reset": "reset"}[self.after]
        if action == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif action == "hang":
            try:
                while self._recv(conn):
                    pass
            except ConnectionResetError:
                pass  # a reset is a close too
            with self._records:
                self.peer_closed += 1


# --- config ---------------------------------------------------------------------------------


def _backend_lines(backends) -> list[str]:
    lines = ["backends = ["]
    for backend in backends:
        port, weight = backend if isinstance(backend, tuple) else (backend, None)
        weight_part = "" if weight is None else f", weight = {weight}"
        lines.append(f'  {{ address = "{HOST}:{port}"{weight_part} }},')
    return lines + ["]"]


def http_config(port: int, pools, *, routes=(), header_timeout: str = "10s",
                client_idle: str = "60s", max_header_bytes: str = "32KiB",
                max_body_bytes="0", connect_timeout: str | None = "2s",
                response_timeout: str | None = "10s", idle_timeout: str | None = None,
                access_log: str = "off", log_format: str = "text", balance: str = "round_robin",
                workers: int = 1, grace: str = "2s", default_pool: str | None = None,
                protocol: str = "http") -> str:
    """A one-listener http config named `web` on 127.0.0.1:`port`.

    `pools`: a list of backends (ports or (port, weight)) for the single pool "app", or a
    dict {pool name: backends}; the first pool is the default unless `default_pool` names one.
    `routes`: dicts with `pool` and optionally `host`, `path_prefix`, in match order.
    Pool timeouts (connect, response, idle) apply to every pool when not None.
    """
    if not isinstance(pools, dict):
        pools = {"app": pools}
    default_pool = default_pool or next(iter(pools))
    size = max_body_bytes if isinstance(max_body_bytes, int) else f'"{max_body_bytes}"'
    lines = [
        "[runtime]", f"workers = {workers}", f'grace_period = "{grace}"', *runtime_user_lines(),
        "", "[log]", 'level = "info"', f'access = "{access_log}"', f'format = "{log_format}"', "",
        "[listeners.web]", f'bind = "{HOST}:{port}"', f'protocol = "{protocol}"',
        f'pool = "{default_pool}"', "",
        "[listeners.web.timeouts]", f'header = "{header_timeout}"',
        f'client_idle = "{client_idle}"', "",
        "[listeners.web.limits]", f'max_header_bytes = "{max_header_bytes}"',
        f"max_body_bytes = {size}", "",
    ]
    for route in routes:
        lines.append("[[listeners.web.routes]]")
        for key in ("host", "path_prefix", "pool"):
            if key in route:
                lines.append(f'{key} = "{route[key]}"')
        lines.append("")
    for name, backends in pools.items():
        lines += [f"[pools.{name}]", f'balance = "{balance}"', *_backend_lines(backends)]
        timeouts = [(k, v) for k, v in (("connect", connect_timeout),
                                         ("response", response_timeout),
                                         ("idle", idle_timeout)) if v is not None]
        if timeouts:
            lines += [f"[pools.{name}.timeouts]", *[f'{k} = "{v}"' for k, v in timeouts]]
        lines.append("")
    return "\n".join(lines)


# --- memory ---------------------------------------------------------------------------------


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


# --- test bases -----------------------------------------------------------------------------


class HttpAssertions:
    """Assertions shared by every HTTP test case."""

    SETTLE = 0.15  # seconds to let a wrongly forwarded request reach a backend

    def assertProxyError(self, response: Response, status, msg: str = ""):
        """An answer from ringlb itself: status, short text/plain body, Connection: close."""
        statuses = (status,) if isinstance(status, int) else tuple(status)
        self.assertIn(response.status, statuses, f"{msg}\nresponse: {response}")
        self.assertTrue(response.closes, f"{msg}\nno Connection: close in {response.headers}")
        content_type = response.header("Content-Type") or ""
        self.assertTrue(content_type.startswith("text/plain"),
                        f"{msg}\nContent-Type {content_type!r} is not text/plain")
        self.assertTrue(0 < response.body_len <= 1024,
                        f"{msg}\nbody of {response.body_len} bytes is not short text")

    def assertBackendGotNothing(self, backend, settle: float | None = None, msg: str = ""):
        time.sleep(self.SETTLE if settle is None else settle)
        self.assertEqual(backend.bytes_received, 0,
                         f"{msg}\nthe backend received bytes: {backend.received_text()}")

    def assertNoCompleteRequest(self, backend: HttpBackend, settle: float | None = None,
                                msg: str = ""):
        """For errors found in a body (after a valid head): the backend may have seen the head,
        but never a completed request, and the upstream connection is closed."""
        time.sleep(self.SETTLE if settle is None else settle)
        complete = [r.target for r in backend.requests if r.complete]
        self.assertEqual(complete, [], f"{msg}\nthe backend completed requests: "
                                       f"{backend.received_text()}")
        used = [c for c in backend.conns if c.received > 0]
        self.assertTrue(wait_until(lambda: all(c.closed for c in used), 2.0),
                        f"{msg}\nthe upstream connection of the refused request is still open")

    def assertRefused(self, port: int, raw: bytes, status, timeout: float = 3.0,
                      msg: str = "") -> Response:
        """Sends `raw` on a new connection; ringlb answers `status` itself and closes."""
        with HttpConn(port, timeout) as conn:
            send_error = conn.try_send(raw)
            try:
                response = conn.read_response()
            except NoResponse as e:
                self.fail(f"{msg}\nno response: connection {e.how} with {e.data[:200]!r}"
                          f"{f' (send failed: {send_error})' if send_error else ''}")
            self.assertProxyError(response, status, msg)
            rest, how = conn.read_until_closed(2.0)
            self.assertNotEqual(how, "timeout", f"{msg}\nconnection still open 2 s after the "
                                                f"{response.status}")
            self.assertEqual(rest, b"", f"{msg}\nbytes after the error response: {rest[:200]!r}")
            return response


class HttpTestCase(HttpAssertions, RinglbTestCase):
    """A RinglbTestCase with HTTP helpers; each test starts its own ringlb."""

    def start_http(self, pools, **options) -> int:
        """Starts ringlb with http_config(...) on a free port; returns the port."""
        port = free_port()
        self.start_ringlb(http_config(port, pools, **options), port)
        return port

    def conn(self, port: int, timeout: float = DEFAULT_TIMEOUT) -> HttpConn:
        conn = HttpConn(port, timeout)
        self.addCleanup(conn.close)
        return conn


class SharedProxyTestCase(HttpAssertions, unittest.TestCase):
    """One ringlb and one set of backends for a whole class (many short vectors).

    Subclasses define make_backends(cls) (set class attributes, return the servers) and
    config(cls, port). Before each test the backends' records are reset; after each test
    ringlb must still be running (a crash fails that test, and the next test restarts it).
    """

    shared: Ringlb | None = None
    servers: list = []

    @classmethod
    def make_backends(cls) -> list:
        raise NotImplementedError

    @classmethod
    def config(cls, port: int) -> str:
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        binary = ringlb_bin()
        if not binary:
            raise unittest.SkipTest("RINGLB_BIN is not set")
        cls._tmp = tempfile.TemporaryDirectory(prefix="ringlb-it-")
        cls.servers = cls.make_backends()
        try:
            cls._start_shared()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _start_shared(cls):
        cls.port = free_port()
        path = write_config(cls._tmp.name, cls.config(cls.port))
        cls.shared = Ringlb(path, cls._tmp.name)
        cls.shared.start(cls.port)

    @classmethod
    def tearDownClass(cls):
        if cls.shared:
            cls.shared.cleanup()
            cls.shared = None
        for server in cls.servers:
            server.close()
        cls._tmp.cleanup()

    def setUp(self):
        cls = type(self)
        if not cls.shared.alive():
            cls.shared.cleanup()
            cls._start_shared()
        for server in cls.servers:
            if hasattr(server, "reset"):
                server.reset()
        self._log_mark = cls.shared.log_size()
        self.addCleanup(self._check_alive)

    def _check_alive(self):
        proc = type(self).shared
        failed = self._has_failed()
        if failed or not proc.alive():
            tail = proc.log()[self._log_mark:].splitlines()[-30:]
            print(f"\n{self.id()}\n--- ringlb stderr during this test ---\n" + "\n".join(tail),
                  file=sys.stderr)
        if not proc.alive():
            raise AssertionError(f"ringlb exited ({proc.proc.returncode}) during this test")

    _has_failed = RinglbTestCase._has_failed
