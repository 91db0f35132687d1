# TLS termination on a tcp listener: SNI picks the certificate by its own names (exact, then
# wildcard, else the first), TLS 1.0/1.1 are refused, ALPN answers http/1.1, bytes tunnel intact
# with close_notify at the end, bad input gets a clean close, and a reload swaps certificates
# while an open connection keeps its own.
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest
from pathlib import Path

from harness import (HOST, EchoBackend, RinglbTestCase, free_port, recv_exact, run_ringlb,
                     runtime_user_lines, wait_closed)
from tls_harness import Pki, client_context, have_openssl, peer_names, recv_all_tls, tls_connect


def tls_l4_config(port: int, backend_port: int, certificates, *, min_version: str = "1.2",
                  level: str = "debug") -> str:
    listed = ", ".join(f'{{ cert = "{c}", key = "{k}" }}' for c, k in certificates)
    return "\n".join([
        "[runtime]", "workers = 1", 'grace_period = "2s"', *runtime_user_lines(),
        "[log]", f'level = "{level}"', 'access = "off"',
        "[listeners.l4]", f'bind = "{HOST}:{port}"', 'protocol = "tcp"', 'pool = "app"',
        "[listeners.l4.tls]", f"certificates = [ {listed} ]", f'min_version = "{min_version}"',
        "[pools.app]", f'backends = [ {{ address = "{HOST}:{backend_port}" }} ]',
    ]) + "\n"


def s_client(port: int, *args: str, data: bytes = b"", timeout: float = 10) -> str:
    """`openssl s_client` against the port; stdout and stderr together."""
    result = subprocess.run(["openssl", "s_client", "-connect", f"{HOST}:{port}", *args],
                            input=data, capture_output=True, timeout=timeout)
    return (result.stdout + result.stderr).decode(errors="replace")


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class TlsTcpListenerTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.pki = Pki(os.path.join(self.tmpdir, "pki"))
        self.a = self.pki.leaf("a", ["a.test"])
        self.b = self.pki.leaf("b", ["b.test", "alt.b.test"])
        self.w = self.pki.leaf("w", ["*.w.test"])
        self.echo = self.backend(EchoBackend)
        self.port = free_port()

    def start(self, certificates=None, **options):
        certificates = certificates or [self.a, self.b, self.w]
        return self.start_ringlb(tls_l4_config(self.port, self.echo.port, certificates, **options),
                                 self.port)

    def names_for(self, server_name):
        with tls_connect(self.port, client_context(self.pki), server_name) as sock:
            return peer_names(sock)

    def test_sni_picks_by_exact_name_then_wildcard_else_the_first(self):
        self.start()
        self.assertEqual(self.names_for("a.test"), ["a.test"])
        self.assertEqual(self.names_for("b.test"), ["b.test", "alt.b.test"])
        self.assertEqual(self.names_for("alt.b.test"), ["b.test", "alt.b.test"])
        self.assertEqual(self.names_for("x.w.test"), ["*.w.test"])
        self.assertEqual(self.names_for("X.W.TEST"), ["*.w.test"])
        unverified = client_context(verify=False)
        for server_name in (None, "unknown.test", "a.b.w.test"):
            with tls_connect(self.port, unverified, server_name) as sock:
                self.assertEqual(peer_names(sock), ["a.test"], server_name)

    def test_bytes_tunnel_intact_and_end_with_close_notify(self):
        self.start()
        payload = os.urandom(3 << 20)
        received = bytearray()
        with tls_connect(self.port, client_context(self.pki), "a.test", timeout=15) as sock:
            # One thread only: an SSL socket must not be read and written concurrently.
            for start in range(0, len(payload), 64 << 10):
                chunk = payload[start:start + (64 << 10)]
                sock.sendall(chunk)
                received += recv_exact(sock, len(chunk), timeout=15)
            self.assertEqual(hashlib.sha256(received).digest(), hashlib.sha256(payload).digest())
            sock.sendall(b"last words")
            self.assertEqual(recv_exact(sock, 10), b"last words")
            # Our close_notify ends the upstream; the backend closes; ringlb ends with its own.
            sock.unwrap()
            # unwrap() returns once both close_notifys crossed; the connection then closes.

    def test_tls_1_0_and_1_1_are_refused_and_alpn_answers_http_1_1(self):
        self.start()
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            context = client_context(verify=False, minimum=ssl.TLSVersion.MINIMUM_SUPPORTED,
                                     maximum=version)
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            with self.assertRaises((ssl.SSLError, ConnectionResetError), msg=str(version)):
                tls_connect(self.port, context, "a.test").close()
        out = s_client(self.port, "-servername", "a.test", "-alpn", "h2,http/1.1", "-tls1_2")
        self.assertIn("ALPN protocol: http/1.1", out)
        self.assertIn("Protocol  : TLSv1.2", out)
        with tls_connect(self.port, client_context(self.pki, alpn=["http/1.1"]), "a.test") as sock:
            self.assertEqual(sock.selected_alpn_protocol(), "http/1.1")
            self.assertEqual(sock.version(), "TLSv1.3")

    def test_min_version_1_3_refuses_1_2(self):
        self.start(min_version="1.3")
        context = client_context(self.pki, maximum=ssl.TLSVersion.TLSv1_2)
        with self.assertRaises((ssl.SSLError, ConnectionResetError)):
            tls_connect(self.port, context, "a.test").close()
        with tls_connect(self.port, client_context(self.pki), "a.test") as sock:
            self.assertEqual(sock.version(), "TLSv1.3")

    def test_bad_input_is_closed_cleanly_and_others_are_served(self):
        ringlb = self.start()
        truncated_hello = bytes.fromhex("160301020001000200030300") + os.urandom(20)
        # Garbage starts with bytes no TLS record starts with: random bytes that happen to look
        # like a record header make OpenSSL wait for the rest, like any slow client would.
        for junk in (b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", b"\0\0\0" + os.urandom(2997),
                     truncated_hello):
            with socket.create_connection((HOST, self.port), timeout=5) as sock:
                sock.sendall(junk)
                if junk is truncated_hello:
                    sock.shutdown(socket.SHUT_WR)  # the rest of the hello never comes
                self.assertTrue(wait_closed(sock, 5), junk[:16])
        with tls_connect(self.port, client_context(self.pki), "a.test") as sock:
            sock.sendall(b"still here")
            self.assertEqual(recv_exact(sock, 10), b"still here")
        self.assertEqual(self.echo.connections, 1)  # nothing of the junk reached the backend
        ringlb.wait_for_log("TLS handshake with a client failed: http request")
        ringlb.send_signal(signal.SIGTERM)
        self.assertExits(0, 10)
        self.assertIn("tls: 1 client handshakes (0 resumed), 2 failed (1 of them plain HTTP)", ringlb.log())

    def test_reload_swaps_the_certificate_and_open_connections_keep_working(self):
        ringlb = self.start(certificates=[self.a])
        context = client_context(self.pki)
        old = tls_connect(self.port, context, "a.test")
        self.addCleanup(old.close)
        old_der = old.getpeercert(binary_form=True)
        old.sendall(b"before")
        self.assertEqual(recv_exact(old, 6), b"before")
        fresh_cert, fresh_key = self.pki.leaf("a2", ["a.test"])
        shutil.copy(fresh_cert, self.a[0])
        shutil.copy(fresh_key, self.a[1])
        start = ringlb.log_size()
        ringlb.send_signal(signal.SIGHUP)
        ringlb.wait_for_log("configuration reloaded", start=start)
        with tls_connect(self.port, context, "a.test") as sock:
            new_der = sock.getpeercert(binary_form=True)
        self.assertNotEqual(new_der, old_der)
        self.assertEqual(new_der, ssl.PEM_cert_to_DER_cert(Path(fresh_cert).read_text()))
        old.sendall(b"after")
        self.assertEqual(recv_exact(old, 5), b"after")

    def test_check_reports_bad_tls_files_at_their_line_and_column(self):
        expired = self.pki.leaf("old", ["a.test"], days=-1)
        os.chmod(self.a[1], 0o644)
        text = tls_l4_config(self.port, self.echo.port,
                             [self.a, expired, ("missing.pem", self.b[1])])
        path = self.write_config(text)
        result = run_ringlb("--check", "-c", path)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        line = next(i for i, l in enumerate(text.splitlines(), 1) if l.startswith("certificates"))
        out = result.stdout + result.stderr
        self.assertRegex(out, rf"{re.escape(path)}:{line}:\d+: warning: private key "
                              rf"{re.escape(self.a[1])} is readable by every user")
        self.assertRegex(out, rf"{re.escape(path)}:{line}:\d+: certificate "
                              rf"{re.escape(expired[0])} expired on ")
        self.assertRegex(out, rf"{re.escape(path)}:{line}:\d+: cannot read certificate "
                              rf"\S*missing.pem: No such file or directory")

    def test_a_bad_certificate_refuses_the_reload_and_the_old_one_keeps_serving(self):
        ringlb = self.start(certificates=[self.a])
        expired = self.pki.leaf("old", ["a.test"], days=-1)
        self.write_config(tls_l4_config(self.port, self.echo.port, [expired]))
        start = ringlb.log_size()
        ringlb.send_signal(signal.SIGHUP)
        line = ringlb.wait_for_log("expired on", start=start)
        self.assertIn("old.pem", line)
        ringlb.wait_for_log("keeping the running configuration", start=start)
        self.assertEqual(self.names_for("a.test"), ["a.test"])


if __name__ == "__main__":
    unittest.main()
