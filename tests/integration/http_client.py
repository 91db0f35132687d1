# The raw-socket HTTP/1.1 client of the integration tests: builds requests byte-exactly, sends
# them whole or in pieces, and reads responses (with their framing) without trusting the
# proxy. Python 3.11 stdlib only; everything connects to 127.0.0.1.
from __future__ import annotations

import re
import socket
import time

from harness_sockets import DEFAULT_TIMEOUT, connect
from http_messages import IncompleteResponse, NoResponse, Response, parse_fields
from http_payloads import chunked_encode, rechunk


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
