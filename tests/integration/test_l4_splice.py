# L4 tunnels moving bulk bytes by splice through a pipe lent from the worker's pool
# (core/proxy/tcp_splice.cpp), in both variants (RINGLB_LEVER_SPLICE=uring and =sync): multi-MiB
# transfers arrive intact each way, a slow reader, a half-close each way mid-transfer, a backend
# reset mid-transfer, a reload mid-transfer, the pool running dry (copy takes over), an idle
# connection holding no pipe, and the byte counters in /metrics.
import hashlib
import os
import signal
import socket
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import (HOST, EchoBackend, RinglbTestCase, _ThreadedServer, free_port, l4_config,
                     listener_metric, recv_until_eof, wait_listener_metric, wait_until)

MIB = 1 << 20


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BulkBackend(_ThreadedServer):
    """Reads one command line, then:
    D n  sends n bytes of `payload` and closes;
    K n  sends n bytes, then keeps the connection open until the client closes it;
    U    reads to EOF and answers "length sha256";
    H n  sends n bytes, half-closes, reads to EOF and records "length sha256" in `uploads`;
    R n  sends n bytes, then resets the connection (SO_LINGER 0)."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.uploads = []
        super().__init__()

    def handle(self, conn):
        line = b""
        while not line.endswith(b"\n"):
            chunk = conn.recv(1)
            if not chunk:
                return
            line += chunk
        command, _, count = line.decode().strip().partition(" ")
        n = int(count or 0)
        if command in ("D", "K", "H", "R"):
            conn.sendall(self.payload[:n])
        if command == "U" or command == "H":
            if command == "H":
                conn.shutdown(socket.SHUT_WR)
            digest, total = hashlib.sha256(), 0
            while data := conn.recv(MIB):
                digest.update(data)
                total += len(data)
            answer = f"{total} {digest.hexdigest()}"
            if command == "H":
                self.uploads.append(answer)
            else:
                conn.sendall(answer.encode())
        elif command == "K":
            while conn.recv(MIB):
                pass
        elif command == "R":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def open_pipes(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            pass
    return count


class SpliceCase(RinglbTestCase):
    variant = None  # RINGLB_LEVER_SPLICE
    pipes = None    # RINGLB_LEVER_SPLICE_PIPES, unless the default

    def setUp(self):
        if self.variant is None:
            self.skipTest("the base class")
        super().setUp()
        self.port = free_port()
        self.admin_port = free_port()
        self.payload = os.urandom(32 * MIB)
        self.bulk = self.backend(BulkBackend, self.payload)

    def start(self, pipes=None, backend=None):
        config = l4_config(self.port, [(backend or self.bulk).port]).replace(
            "[log]", f'[admin]\nlisten = "{HOST}:{self.admin_port}"\n\n[log]', 1)
        env = {} if self.variant == "default" else {"RINGLB_LEVER_SPLICE": self.variant}
        if pipes is not None:
            env["RINGLB_LEVER_SPLICE_PIPES"] = str(pipes)
        self.start_ringlb(config, self.port, env=env)
        self.pipes_before = open_pipes(self.ringlb.pid)

    def metric(self, name: str) -> int:
        return listener_metric(self.admin_port, name, "l4")

    def wait_metric(self, name: str, predicate, timeout: float = 5.0) -> int:
        return wait_listener_metric(self.admin_port, name, "l4", predicate, timeout)

    def download(self, size: int, command: str = "D", pause: float = 0.0) -> bytes:
        with socket.create_connection((HOST, self.port), timeout=30) as sock:
            sock.sendall(f"{command} {size}\n".encode())
            time.sleep(pause)
            return recv_until_eof(sock, 30)  # closed now: the tunnel ends and is counted

    def test_download_32mib_arrives_intact_and_spliced(self):
        self.start()
        received = self.download(32 * MIB)
        self.assertEqual(len(received), 32 * MIB)
        self.assertEqual(sha(received), sha(self.payload))
        sent = self.wait_metric("ringlb_sent_bytes_total", lambda v: v > 0)
        self.assertEqual(sent, 32 * MIB)
        self.assertEqual(self.metric("ringlb_received_bytes_total"), len(f"D {32 * MIB}\n"))
        # Past the first two full buffers, the bytes went through a pipe.
        self.assertGreater(self.metric("ringlb_spliced_bytes_total"), 30 * MIB)
        self.assertGreater(open_pipes(self.ringlb.pid), self.pipes_before)  # kept in the pool

    def test_upload_32mib_arrives_intact_and_spliced(self):
        self.start()
        sock = self.client(self.port, timeout=30)
        sock.sendall(b"U\n")
        sock.sendall(self.payload)
        sock.shutdown(socket.SHUT_WR)  # the FIN must wait for the pipe to drain
        answer = recv_until_eof(sock, 30).decode()
        self.assertEqual(answer, f"{32 * MIB} {sha(self.payload)}")
        received = self.wait_metric("ringlb_received_bytes_total", lambda v: v > 0)
        self.assertEqual(received, 32 * MIB + 2)
        self.assertEqual(self.metric("ringlb_sent_bytes_total"), len(answer))
        self.assertGreater(self.metric("ringlb_spliced_bytes_total"), 30 * MIB)

    def test_echo_both_directions_at_once(self):
        echo = self.backend(EchoBackend)
        self.start(backend=echo)
        sock = self.client(self.port, timeout=30)
        errors = []

        def send():
            try:
                sock.sendall(self.payload[:16 * MIB])
                sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                errors.append(e)

        sender = threading.Thread(target=send)
        sender.start()
        received = recv_until_eof(sock, 30)
        sender.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(sha(received), sha(self.payload[:16 * MIB]))
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0),
                           16 * MIB)

    def test_slow_reader_gets_every_byte_and_others_are_served_meanwhile(self):
        self.start()
        sock = self.client(self.port, timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        sock.sendall(f"D {32 * MIB}\n".encode())
        time.sleep(1.5)  # every buffer on the way fills: the pipe holds bytes, the sink is full
        started = time.monotonic()
        self.assertEqual(sha(self.download(MIB)), sha(self.payload[:MIB]))
        self.assertLess(time.monotonic() - started, 5)
        received = bytearray()
        while len(received) < 32 * MIB:
            data = sock.recv(256 << 10)
            if not data:
                break
            received += data
            if len(received) < 4 * MIB:
                time.sleep(0.002)  # a reader slower than the backend
        self.assertEqual(sha(bytes(received)), sha(self.payload))
        sock.close()
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total",
                                            lambda v: v >= 16 * MIB), 16 * MIB)

    def test_half_close_each_way_mid_transfer(self):
        """The backend sends 16 MiB and half-closes; the client reads to EOF, then uploads 16 MiB
        on the same connection and half-closes. The FIN toward each side comes after every
        byte before it, and the open direction keeps flowing after the other one closed."""
        self.start()
        sock = self.client(self.port, timeout=30)
        sock.sendall(f"H {16 * MIB}\n".encode())
        received = recv_until_eof(sock, 30)
        self.assertEqual(sha(received), sha(self.payload[:16 * MIB]))
        upload = self.payload[16 * MIB:]
        sock.sendall(upload)
        sock.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_until_eof(sock, 30), b"")
        wait_until(lambda: self.bulk.uploads, 10)
        self.assertEqual(self.bulk.uploads, [f"{len(upload)} {sha(upload)}"])
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0),
                           30 * MIB)

    def test_backend_reset_mid_transfer_ends_the_client_connection(self):
        self.start()
        sock = self.client(self.port, timeout=30)
        sock.sendall(f"R {8 * MIB}\n".encode())
        received = bytearray()
        started = time.monotonic()
        try:
            while data := sock.recv(MIB):
                received += data
        except ConnectionResetError:
            pass
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(bytes(received), self.payload[:len(received)])  # a prefix, in order
        self.assertGreaterEqual(
            self.wait_metric("ringlb_sent_bytes_total", lambda v: v > 0), len(received))
        self.assertGreater(self.metric("ringlb_spliced_bytes_total"), 0)  # the RST hit a pipe
        self.assertEqual(sha(self.download(4 * MIB)), sha(self.payload[:4 * MIB]))

    def test_reload_mid_transfer_loses_nothing(self):
        self.start()
        sock = self.client(self.port, timeout=30)
        sock.sendall(f"D {32 * MIB}\n".encode())
        received = bytearray(sock.recv(MIB))
        self.ringlb.send_signal(signal.SIGHUP)
        received += recv_until_eof(sock, 30)
        self.assertEqual(sha(bytes(received)), sha(self.payload))
        sock.close()
        self.assertGreater(self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0),
                           16 * MIB)

    def test_pool_exhausted_falls_back_to_copy(self):
        """One pipe for the worker, four downloads at once: one splices, the others copy, and
        every byte of each arrives."""
        self.start(pipes=1)
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: sha(self.download(16 * MIB, pause=0.5)), range(4)))
        self.assertEqual(results, [sha(self.payload[:16 * MIB])] * 4)
        sent = self.wait_metric("ringlb_sent_bytes_total", lambda v: v >= 64 * MIB)
        self.assertEqual(sent, 64 * MIB)
        spliced = self.metric("ringlb_spliced_bytes_total")
        self.assertGreater(spliced, 0)
        self.assertLess(spliced, 60 * MIB)  # the pipe was lent to one at a time
        self.assertLessEqual(open_pipes(self.ringlb.pid) - self.pipes_before, 2)  # one pipe

    def test_idle_connection_holds_no_pipe(self):
        """The only pipe was used by a connection that has gone quiet without closing: it went
        back to the pool, so the next download splices."""
        self.start(pipes=1)
        idle = self.client(self.port, timeout=30)
        idle.sendall(f"K {8 * MIB}\n".encode())
        got = 0
        while got < 8 * MIB:
            got += len(idle.recv(MIB))
        received = self.download(16 * MIB)  # while the first connection stays open
        self.assertEqual(sha(received), sha(self.payload[:16 * MIB]))
        # Only the second connection has ended, so only its bytes are counted yet.
        spliced = self.wait_metric("ringlb_spliced_bytes_total", lambda v: v > 0)
        self.assertGreater(spliced, 14 * MIB)

    def test_many_concurrent_downloads_with_few_pipes(self):
        self.start(pipes=4)
        with ThreadPoolExecutor(max_workers=64) as pool:
            results = list(pool.map(lambda _: sha(self.download(2 * MIB)), range(64)))
        self.assertEqual(results, [sha(self.payload[:2 * MIB])] * 64)
        self.assertEqual(self.wait_metric("ringlb_sent_bytes_total", lambda v: v >= 128 * MIB),
                         128 * MIB)
        self.assertGreater(self.metric("ringlb_spliced_bytes_total"), 0)


class UringSpliceTest(SpliceCase):
    variant = "uring"


class SyncSpliceTest(SpliceCase):
    variant = "sync"


class DefaultSpliceTest(SpliceCase):
    """With no lever set, a plain tcp listener splices (sync is the default)."""
    variant = "default"

    def setUp(self):
        if self._testMethodName != "test_download_32mib_arrives_intact_and_spliced":
            self.skipTest("the two variants run the rest")
        super().setUp()


if __name__ == "__main__":
    unittest.main()
