# Layer-4 tunnelling through a `protocol = "tcp"` listener: byte integrity under load, half-close,
# retry on a backend that refuses or never answers connect, and the client idle timeout.
import hashlib
import os
import socket
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import (BlackholeListener, EchoBackend, HalfCloseBackend, RinglbTestCase,
                     _ThreadedServer, _echo, echo_roundtrip, free_port, kernel_queued_bytes,
                     l4_config, recv_until_eof, wait_until, wait_until_stalled)


def send_then_half_close(sock: socket.socket, payload: bytes, errors: list):
    try:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        errors.append(e)


def echo_through(sock: socket.socket, payload: bytes, timeout: float) -> bytes:
    """Sends `payload` from a thread while reading everything back until EOF."""
    errors = []
    sender = threading.Thread(target=send_then_half_close, args=(sock, payload, errors))
    sender.start()
    try:
        received = recv_until_eof(sock, timeout)
    finally:
        sender.join(timeout)
    if errors:
        raise errors[0]
    return received


class HoldingBackend(_ThreadedServer):
    """A connection that starts with b"U" is an upload: held unread for `hold` seconds, then
    read to its end and answered with its length and SHA-256. Any other connection echoes."""

    def __init__(self, hold: float):
        self.hold = hold
        super().__init__()

    def handle(self, conn):
        first = conn.recv(1)
        if first != b"U":
            conn.sendall(first)
            return _echo(conn)
        time.sleep(self.hold)
        digest, total = hashlib.sha256(first), 1
        while data := conn.recv(1 << 20):
            digest.update(data)
            total += len(data)
        conn.sendall(f"{total} {digest.hexdigest()}".encode())


class TunnelTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()

    def start_with(self, backends, **options):
        return self.start_ringlb(l4_config(self.port, backends, **options), self.port)

    def test_8mib_both_directions_arrive_intact(self):
        echo = self.backend(EchoBackend)
        self.start_with([echo.port])
        payload = os.urandom(8 << 20)
        received = echo_through(self.client(self.port, timeout=15), payload, timeout=15)
        self.assertEqual(len(received), len(payload))
        self.assertEqual(hashlib.sha256(received).hexdigest(),
                         hashlib.sha256(payload).hexdigest())

    def test_50_concurrent_connections_arrive_intact(self):
        echo = self.backend(EchoBackend)
        self.start_with([echo.port])
        payloads = [os.urandom(64 << 10) for _ in range(50)]

        def one(payload):
            with socket.create_connection(("127.0.0.1", self.port), timeout=15) as sock:
                return echo_through(sock, payload, timeout=15) == payload

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(one, payloads))
        self.assertEqual(results.count(True), 50)
        self.assertEqual(echo.connections, 50)

    def test_uploads_held_back_by_a_slow_backend_do_not_starve_other_connections(self):
        """Two clients push 48 MiB each into tunnels whose backend reads nothing for 6 s,
        until every buffer on the way is full and they stall. ringlb may then hold only a few of
        its receive buffers per tunnel (the rest of what was sent is in kernel socket queues),
        so a third connection's echo comes back at once."""
        backend = self.backend(HoldingBackend, 6.0)
        self.start_with([backend.port])
        payload = b"U" + os.urandom(48 << 20)
        sent = [0, 0]
        errors = []

        def upload(sock, index):
            try:
                view = memoryview(payload)
                for start in range(0, len(payload), 256 << 10):
                    sock.sendall(view[start:start + (256 << 10)])
                    sent[index] += len(view[start:start + (256 << 10)])
                sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                errors.append(e)

        uploaders = [self.client(self.port, timeout=30) for _ in sent]
        senders = [threading.Thread(target=upload, args=(sock, i), daemon=True)
                   for i, sock in enumerate(uploaders)]
        for sender in senders:
            sender.start()
        self.assertTrue(wait_until_stalled(sent), f"never stalled ({sum(sent) >> 20} MiB sent)")
        read_by_backend = len(sent)  # the "U" of each upload
        held = sum(sent) - read_by_backend - kernel_queued_bytes([self.port, backend.port])
        self.assertLess(held, 4 << 20, f"ringlb holds {held / (1 << 20):.1f} MiB of 2 held uploads")
        started = time.monotonic()
        self.assertEqual(echo_roundtrip(self.client(self.port), b"ping", timeout=10), b"ping")
        waited = time.monotonic() - started
        self.assertLess(waited, 1.0, f"an echo waited {waited:.2f} s behind held-back uploads")
        expected = f"{len(payload)} {hashlib.sha256(payload).hexdigest()}".encode()
        for sock, sender in zip(uploaders, senders):
            sender.join(30)
            self.assertEqual(recv_until_eof(sock, 30), expected)
        self.assertEqual(errors, [])

    def test_half_close_reaches_backend_and_reply_comes_back(self):
        backend = self.backend(HalfCloseBackend)
        self.start_with([backend.port])
        sock = self.client(self.port)
        sock.sendall(b"x" * 1000)
        sock.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_until_eof(sock, timeout=5), b"got 1000 bytes\n")


class BackendFailureTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.port = free_port()

    def test_refused_backend_is_retried_on_the_next_one(self):
        closed_port = free_port()
        echo = self.backend(EchoBackend)
        self.start_ringlb(l4_config(self.port, [closed_port, echo.port]), self.port)
        for i in range(20):
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                message = f"ping {i}".encode()
                self.assertEqual(echo_roundtrip(sock, message), message, f"connection {i}")
        self.assertEqual(echo.connections, 20)

    def test_connect_timeout_moves_on_to_the_next_backend(self):
        hole = BlackholeListener()
        self.addCleanup(hole.close)
        echo = self.backend(EchoBackend)
        config = l4_config(self.port, [hole.port, echo.port], connect_timeout="300ms")
        self.start_ringlb(config, self.port)
        elapsed = [self.timed_echo(i) for i in range(4)]
        # Smooth round robin picks the first backend (the blackhole) for the first connection.
        self.assertGreaterEqual(elapsed[0], 0.25, f"elapsed per connection: {elapsed}")
        self.assertLess(max(elapsed), 2.0, f"elapsed per connection: {elapsed}")
        self.assertEqual(echo.connections, 4)

    def timed_echo(self, i: int) -> float:
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            self.assertEqual(echo_roundtrip(sock, b"hello"), b"hello", f"connection {i}")
        return time.monotonic() - start


class IdleTimeoutTest(RinglbTestCase):
    def test_idle_tunnel_is_closed_while_an_active_one_survives(self):
        port = free_port()
        echo = self.backend(EchoBackend)
        self.start_ringlb(l4_config(port, [echo.port], client_idle="500ms"), port)
        idle, active = self.client(port), self.client(port)
        self.assertEqual(echo_roundtrip(idle, b"idle"), b"idle")
        idle_since = time.monotonic()
        idle.setblocking(False)
        closed_after = self.keep_active_until_idle_closes(active, idle, idle_since, 2.5)
        self.assertIsNotNone(closed_after, "idle tunnel still open after 2.5 s")
        self.assertGreaterEqual(closed_after, 0.4)
        self.assertLessEqual(closed_after, 2.0)
        self.assertEqual(echo_roundtrip(active, b"still here"), b"still here")
        self.assertTrue(wait_until(lambda: echo.active == 1, 2),
                        f"backend side of the idle tunnel not closed ({echo.active} open)")

    def keep_active_until_idle_closes(self, active, idle, idle_since, limit):
        """Pings `active` every 100 ms; returns seconds until `idle` saw EOF/reset, or None."""
        while time.monotonic() - idle_since < limit:
            self.assertEqual(echo_roundtrip(active, b"tick"), b"tick")
            if self.peer_closed(idle):
                return time.monotonic() - idle_since
            time.sleep(0.1)
        return None

    @staticmethod
    def peer_closed(sock: socket.socket) -> bool:
        try:
            return sock.recv(1) == b""
        except BlockingIOError:
            return False
        except ConnectionResetError:
            return True


if __name__ == "__main__":
    unittest.main()
