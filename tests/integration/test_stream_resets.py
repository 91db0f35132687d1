# HTTP/2 streams reset by their client in the middle of a response. The client here speaks h2c
# with hand-made frames (stdlib only), and never opens its window, so the response waits in
# ringlb for room when the reset comes.
# - The stream's exchange goes back clean: it used to stay marked as sending, and the next
#   HTTP/1.1 connection to get it never saw its response (the next h2 one never got SETTINGS).
# - RST_STREAM(NO_ERROR) stops the stream as any reset does: it used to be taken for the normal
#   end of the stream, and the backend connection stayed open until the client idle timeout.
import socket
import time
import unittest

from harness import wait_until
from http_harness import HttpBackend, HttpTestCase

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS = 0x0, 0x1, 0x3, 0x4
END_STREAM, END_HEADERS = 0x1, 0x4
NO_ERROR, CANCEL = 0x0, 0x8
BIG = 50 << 20  # far more than the 64 KiB the client's windows let through


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return (len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") +
            payload)


def literal(name: bytes, value: bytes) -> bytes:
    """An HPACK field without indexing, name and value as plain strings (RFC 7541 §6.2.2)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def get_block(path: str) -> bytes:
    # 0x82 = :method GET, 0x86 = :scheme http (static table)
    return b"\x82\x86" + literal(b":path", path.encode()) + literal(b":authority", b"reuse.test")


def read_data_bytes(sock: socket.socket, want: int, timeout: float) -> int:
    """Reads frames until `want` DATA payload bytes came (or the time is up); returns the count."""
    buf, got, deadline = b"", 0, time.monotonic() + timeout
    while got < want and time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            length = int.from_bytes(buf[:3], "big")
            if buf[3] == DATA:
                got += length
            buf = buf[9 + length:]
    return got


class StreamResetTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.app = self.backend(HttpBackend, "app")
        self.port = self.start_http([self.app.port], client_idle="60s")

    def reset_mid_response(self, code: int) -> socket.socket:
        """Starts a big download on stream 1, lets it stall on the window, then resets it."""
        h2 = self.client(self.port)
        h2.sendall(PREFACE + frame(SETTINGS, 0, 0) +
                   frame(HEADERS, END_STREAM | END_HEADERS, 1, get_block(f"/stream/{BIG}")))
        self.assertEqual(read_data_bytes(h2, 65535, 5), 65535)
        time.sleep(0.5)  # the backend's next bytes fill the stream's queue in the codec
        h2.sendall(frame(RST_STREAM, 0, 1, code.to_bytes(4, "big")))
        return h2

    def test_no_error_reset_closes_the_backend_connection(self):
        self.reset_mid_response(NO_ERROR)
        self.assertTrue(wait_until(lambda: self.app.active == 0, 3),
                        "the backend connection of a stream reset with NO_ERROR stays open")

    def test_clients_after_a_stream_reset_mid_response_are_answered(self):
        backend, port = self.app, self.port
        self.reset_mid_response(CANCEL).close()
        self.assertTrue(wait_until(lambda: backend.active == 0, 5),
                        "the reset stream's backend connection stays open")
        # Several clients at once, so the exchange the stream had is handed to one of them.
        conns = [self.conn(port, timeout=5) for _ in range(4)]
        for conn in conns:
            conn.send(b"GET /stream/100 HTTP/1.1\r\nHost: reuse.test\r\n\r\n")
        for index, conn in enumerate(conns):
            try:
                response = conn.read_response(timeout=5)
            except TimeoutError:
                self.fail(f"client {index} after the reset stream got no response")
            self.assertEqual((response.status, response.body_len), (200, 100),
                             f"client {index} after the reset stream")
        self.assertEqual(self.ringlb.log().count("stale completion"), 0)


if __name__ == "__main__":
    unittest.main()
