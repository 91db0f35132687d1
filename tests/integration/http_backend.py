# The recording keep-alive HTTP/1.1 backend of the integration tests: every request it gets is
# kept (head, body, connection), and its path picks the answer (echo, streamed or chunked bodies,
# delays, statuses, upgrades). Python 3.11 stdlib only; everything binds 127.0.0.1.
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from harness_backends import _ThreadedServer
from http_messages import Request, parse_fields
from http_payloads import _BLOCK, pattern_chunks, rechunk


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
