# PROXY protocol pieces for the integration tests (haproxy's proxy-protocol.txt): headers a test
# client sends to a listener with proxy_protocol = true, and a backend that requires a header on
# every connection and records what it said, as a server behind send_proxy_protocol would.
# Python 3.11 stdlib only.
from __future__ import annotations

import ipaddress
import json
import socket
import struct

from harness_backends import _ThreadedServer
from harness_sockets import recv_exact

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1_header(source: str, source_port: int, destination: str | None = None,
              destination_port: int = 443) -> bytes:
    family = "TCP6" if ":" in source else "TCP4"
    destination = destination or ("2001:db8::200" if family == "TCP6" else "192.0.2.200")
    return f"PROXY {family} {source} {destination} {source_port} {destination_port}\r\n".encode()


def v2_header(source: str, source_port: int, destination: str | None = None,
              destination_port: int = 443, *, local: bool = False, tlvs: bytes = b"") -> bytes:
    src = ipaddress.ip_address(source)
    dst = ipaddress.ip_address(destination or ("2001:db8::200" if src.version == 6
                                               else "192.0.2.200"))
    family = 0x11 if src.version == 4 else 0x21
    body = src.packed + dst.packed + struct.pack("!HH", source_port, destination_port) + tlvs
    command = 0x20 if local else 0x21
    return V2_SIGNATURE + bytes([command, family]) + struct.pack("!H", len(body)) + body


def read_proxy_header(conn: socket.socket) -> dict:
    """The header at the start of `conn`, read exactly; raises ValueError when there is none."""
    first = recv_exact(conn, 12)
    if first == V2_SIGNATURE:
        command, family, length = struct.unpack("!BBH", recv_exact(conn, 4))
        body = recv_exact(conn, length)
        if command != 0x21:
            return {"version": 2, "command": command}
        size = {0x11: 4, 0x21: 16}.get(family)
        if size is None:
            return {"version": 2, "family": family}
        src = str(ipaddress.ip_address(body[:size]))
        dst = str(ipaddress.ip_address(body[size:2 * size]))
        sport, dport = struct.unpack("!HH", body[2 * size:2 * size + 4])
        return {"version": 2, "source": [src, sport], "destination": [dst, dport]}
    if not first.startswith(b"PROXY "):
        raise ValueError(f"no PROXY header: {first!r}")
    line = first
    while not line.endswith(b"\r\n"):
        if len(line) > 107:
            raise ValueError("v1 header over 107 bytes")
        line += recv_exact(conn, 1)
    words = line[:-2].decode().split(" ")
    if words[1] == "UNKNOWN":
        return {"version": 1, "unknown": True}
    return {"version": 1, "source": [words[2], int(words[4])],
            "destination": [words[3], int(words[5])]}


class ProxyProtocolBackend(_ThreadedServer):
    """Requires a PROXY header first on every connection, and records it in `headers` (one per
    connection, in accept order; a connection without one records {"error": ...} and is closed).
    mode "echo": then echoes bytes. mode "http": then answers keep-alive GETs with a JSON body
    {"conn", "header", "x_client"}, and records each request's X-Client in `requests_by_conn`."""

    def __init__(self, mode: str):
        self.mode = mode
        self.headers: list[dict] = []
        self.requests_by_conn: list[list[str]] = []
        super().__init__()

    def handle(self, conn):
        with self._lock:
            index = len(self.headers)
            self.headers.append({})
            self.requests_by_conn.append([])
        try:
            header = read_proxy_header(conn)
        except (ValueError, EOFError, UnicodeDecodeError) as error:
            self.headers[index] = {"error": str(error)}
            return
        self.headers[index] = header
        if self.mode == "echo":
            while data := conn.recv(1 << 16):
                conn.sendall(data)
            return
        self._serve_http(conn, index, header)

    def _serve_http(self, conn, index: int, header: dict):
        buffered = b""
        while True:
            while b"\r\n\r\n" not in buffered:
                data = conn.recv(1 << 16)
                if not data:
                    return
                buffered += data
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            fields = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.decode("latin-1").partition(":")
                fields[name.strip().lower()] = value.strip()
            x_client = fields.get("x-client", "")
            self.requests_by_conn[index].append(x_client)
            body = json.dumps({"conn": index, "header": header, "x_client": x_client,
                               "x_forwarded_for": fields.get("x-forwarded-for", "")}).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
