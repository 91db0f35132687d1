# Checks the harness itself (backends, blackhole, socket helpers) without the ringlb binary,
# so a failure in the other files points at ringlb and not at the test machinery or the kernel.
import os
import socket
import tempfile
import time
import unittest

from harness import (BlackholeListener, EchoBackend, HalfCloseBackend, NamedBackend,
                     connect, connection_refused, echo_roundtrip, free_port, is_listening,
                     recv_exact, recv_line, recv_until_eof, wait_closed, wait_until,
                     write_config)


class BackendTest(unittest.TestCase):
    def serve(self, cls, *args):
        server = cls(*args)
        self.addCleanup(server.close)
        return server

    def test_echo_backend_echoes_and_counts(self):
        echo = self.serve(EchoBackend)
        payload = os.urandom(1 << 20)
        with connect(echo.port) as a, connect(echo.port) as b:
            self.assertEqual(echo_roundtrip(a, payload), payload)
            self.assertEqual(echo_roundtrip(b, b"hi"), b"hi")
            self.assertEqual(echo.connections, 2)
            self.assertEqual(echo.active, 2)
        self.assertTrue(wait_until(lambda: echo.active == 0, 2))

    def test_named_backend_sends_name_then_echoes(self):
        named = self.serve(NamedBackend, "alpha")
        with connect(named.port) as sock:
            self.assertEqual(recv_line(sock), b"alpha\n")
            self.assertEqual(echo_roundtrip(sock, b"ping"), b"ping")

    def test_named_backend_without_echo_closes(self):
        named = self.serve(NamedBackend, "beta", False)
        with connect(named.port) as sock:
            self.assertEqual(recv_until_eof(sock, 2), b"beta\n")

    def test_half_close_backend_replies_after_eof(self):
        backend = self.serve(HalfCloseBackend)
        with connect(backend.port) as sock:
            sock.sendall(b"x" * 1000)
            sock.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_until_eof(sock, 2), b"got 1000 bytes\n")

    def test_close_stops_listening_and_ends_open_connections(self):
        echo = EchoBackend()
        sock = connect(echo.port)
        self.addCleanup(sock.close)
        self.assertTrue(wait_until(lambda: echo.active == 1, 2))
        echo.close()
        self.assertTrue(wait_closed(sock, 2))
        self.assertTrue(connection_refused(echo.port))


class BlackholeTest(unittest.TestCase):
    def test_connect_hangs_until_client_timeout(self):
        hole = BlackholeListener()
        self.addCleanup(hole.close)
        start = time.monotonic()
        with self.assertRaises(TimeoutError):
            socket.create_connection(("127.0.0.1", hole.port), timeout=0.5)
        self.assertGreaterEqual(time.monotonic() - start, 0.45)


class HelperTest(unittest.TestCase):
    def test_free_port_is_bindable(self):
        port = free_port()
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))

    def test_is_listening_sees_listen_sockets_only(self):
        echo = EchoBackend()
        self.addCleanup(echo.close)
        self.assertTrue(is_listening(echo.port))
        self.assertFalse(is_listening(free_port()))

    def test_recv_exact_raises_on_timeout_and_eof(self):
        named = NamedBackend("n", False)
        self.addCleanup(named.close)
        with connect(named.port) as sock:
            with self.assertRaises(EOFError):
                recv_exact(sock, 100, timeout=2)
        echo = EchoBackend()
        self.addCleanup(echo.close)
        with connect(echo.port) as sock, self.assertRaises(TimeoutError):
            recv_exact(sock, 1, timeout=0.2)

    def test_write_config_replaces_content(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = write_config(tmp, "a = 1\n")
            self.assertEqual(write_config(tmp, "b = 2\n"), path)
            with open(path) as f:
                self.assertEqual(f.read(), "b = 2\n")
            self.assertEqual(os.listdir(tmp), ["ringlb.toml"])


if __name__ == "__main__":
    unittest.main()
