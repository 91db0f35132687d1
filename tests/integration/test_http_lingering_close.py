"""Lingering close (RFC 9112 §9.6; docs/choices.md, "Lingering close"): a connection that ends
after a response must not be reset by the kernel for bytes the client sent that ringlb did not
read (a pipelined request, a TLS KeyUpdate), which would throw away the end of the response
still in ringlb's send buffer. And a KeyUpdate request at the end of an L4 TLS download must not
end it as a client error (the reply cannot be sent after close_notify)."""
import hashlib
import os
import socket
import time
import unittest

from harness import HOST, RinglbTestCase, free_port, runtime_user_lines
from harness_backends import _ThreadedServer
from http_harness import HttpBackend, HttpTestCase, http_config
from http_payloads import pattern_chunks, pattern_sha256
from test_tls_http import tls_section
from tls_harness import Pki, client_context
from tls_key_update import KeyUpdatePeer, libssl

SIZE = 32 << 20  # large enough that the end is still in ringlb's send buffer at the close
REQUEST = b"GET /stream/%d HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n" % SIZE
LATE = b"GET /late HTTP/1.1\r\nHost: a.test\r\n\r\n"
_KEY_UPDATE_NOT_REQUESTED = 0
_KEY_UPDATE_REQUESTED = 1


TCP_CLOSE, TCP_CLOSE_WAIT = 7, 8  # tcpi_state (linux/tcp.h)


def tcp_state(sock: socket.socket) -> int:
    """This side's TCP state: CLOSE_WAIT after the peer's FIN, CLOSE once it sent a reset."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


def body_of(response: bytes) -> bytes:
    return response[response.index(b"\r\n\r\n") + 4:] if b"\r\n\r\n" in response else b""


def read_to_end(sock, timeout: float = 30) -> bytes:
    """Everything until the end (FIN, close_notify, or a reset, which ends it early)."""
    sock.settimeout(timeout)
    received = bytearray()
    try:
        while True:
            data = sock.recv(1 << 18)
            if not data:
                break
            received += data
    except (ConnectionResetError, OSError):
        pass
    return bytes(received)


def read_with_key_updates(peer: KeyUpdatePeer, kind: int, every: int) -> bytes:
    """Reads until the end, asking for a KeyUpdate of `kind` every `every` reads (as rustls
    does on a long download)."""
    lib = libssl()
    received = bytearray()
    reads = 0
    while True:
        reads += 1
        try:
            if reads % every == 0 and lib.SSL_key_update(peer.ssl, kind) == 1:
                peer._drive(lambda: lib.SSL_do_handshake(peer.ssl), 10)  # sends it
            data = peer.read(patience=10)
        except OSError:  # a reset, or a TLS error: the end came early
            break
        if not data:
            break
        received += data
    return bytes(received)


class SourceBackend(_ThreadedServer):
    """Sends SIZE pattern bytes, then its FIN, and reads until the client's."""

    def handle(self, conn):
        for piece in pattern_chunks(SIZE):
            conn.sendall(piece)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(1 << 16):
            pass


class HttpLingeringCloseTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.backend_ = self.backend(HttpBackend, "plain")
        self.port = free_port()

    def start(self, tls: bool):
        config = http_config(self.port, [self.backend_.port])
        if tls:
            config += tls_section("web", [self.pki.leaf("a", ["a.test"])])
        self.start_ringlb(config, self.port)

    def connect(self, tls: bool):
        sock = socket.create_connection((HOST, self.port), timeout=30)
        if tls:
            sock = client_context(self.pki, alpn=["http/1.1"]).wrap_socket(
                sock, server_hostname="a.test")
        self.addCleanup(sock.close)
        return sock

    def download_with_a_late_request(self, tls: bool):
        self.start(tls)
        sock = self.connect(tls)
        sock.sendall(REQUEST)
        time.sleep(0.05)  # the response is on its way when the next request comes
        sock.sendall(LATE)
        body = body_of(read_to_end(sock))
        self.assertEqual(len(body), SIZE, "the response was cut short")
        self.assertEqual(hashlib.sha256(body).hexdigest(), pattern_sha256(SIZE))

    def test_a_close_response_with_a_pipelined_request_after_it_arrives_whole(self):
        self.download_with_a_late_request(tls=False)

    def test_an_https_close_response_with_a_pipelined_request_after_it_arrives_whole(self):
        self.download_with_a_late_request(tls=True)

    def test_an_https_download_with_key_updates_arrives_whole(self):
        self.start(tls=True)
        sock = socket.create_connection((HOST, self.port))
        self.addCleanup(sock.close)
        peer = KeyUpdatePeer(sock, server_name="a.test", alpn=b"http/1.1")
        self.addCleanup(peer.close)
        peer.write(REQUEST)
        body = body_of(read_with_key_updates(peer, _KEY_UPDATE_NOT_REQUESTED, 20))
        self.assertEqual(len(body), SIZE, "the response was cut short")
        self.assertEqual(hashlib.sha256(body).hexdigest(), pattern_sha256(SIZE))

    def test_a_client_that_goes_quiet_after_the_response_is_closed_after_a_second(self):
        self.start(tls=False)
        sock = self.connect(tls=False)
        sock.sendall(b"GET /stream/1000 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        self.assertEqual(len(body_of(read_to_end(sock))), 1000)
        # Lingering: what the client still sends is read, not answered with a reset.
        sock.sendall(b"more")
        time.sleep(0.3)
        self.assertEqual(tcp_state(sock), TCP_CLOSE_WAIT,
                         "ringlb reset the connection instead of lingering")
        # Quiet for more than a second: ringlb closed, and the next byte meets a reset.
        time.sleep(1.8)
        sock.sendall(b"late")
        time.sleep(0.3)
        self.assertEqual(tcp_state(sock), TCP_CLOSE, "ringlb still lingers after 2 s of quiet")


class L4TlsKeyUpdateAtTheEndTest(RinglbTestCase):
    def test_a_tls_download_with_key_update_requests_arrives_whole(self):
        pki = Pki(os.path.join(self.tmpdir, "pki"))
        source = self.backend(SourceBackend)
        port = free_port()
        config = "\n".join([
            "[runtime]", "workers = 1", *runtime_user_lines(), "[log]", 'access = "off"',
            "[listeners.l4]", f'bind = "{HOST}:{port}"', 'protocol = "tcp"', 'pool = "app"',
            "[pools.app]", f'backends = [ {{ address = "{HOST}:{source.port}" }} ]',
        ]) + "\n" + tls_section("l4", [pki.leaf("a", ["a.test"])])
        self.start_ringlb(config, port)
        for _ in range(3):  # the end meets a KeyUpdate request most times, not every time
            sock = socket.create_connection((HOST, port))
            self.addCleanup(sock.close)
            peer = KeyUpdatePeer(sock, server_name="a.test")
            self.addCleanup(peer.close)
            body = read_with_key_updates(peer, _KEY_UPDATE_REQUESTED, 50)
            self.assertEqual(len(body), SIZE, "the download was cut short")
            self.assertEqual(hashlib.sha256(body).hexdigest(), pattern_sha256(SIZE))


if __name__ == "__main__":
    unittest.main()
