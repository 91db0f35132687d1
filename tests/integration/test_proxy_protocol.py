# PROXY protocol (haproxy's proxy-protocol.txt). Accept: a listener with proxy_protocol = true
# takes a v1 or v2 header only from proxy_protocol_from sources, closes what is untrusted,
# truncated (after tls_handshake) or garbage, and uses the carried address as the client
# everywhere (X-Forwarded-For, the access log, client_ip hashing) on http, tcp and TLS listeners.
# Send: a pool with send_proxy_protocol writes the header first on each backend connection, and
# an HTTP connection that carried one client's header never serves another client.
import json
import os
import socket
import ssl
import time
import unittest
import urllib.request
from pathlib import Path

from h2_client import H2Client
from harness import (HOST, EchoBackend, RinglbTestCase, free_port, recv_exact, runtime_user_lines,
                     wait_until)
from http_harness import HttpBackend, HttpConn
from proxy_protocol_support import ProxyProtocolBackend, v1_header, v2_header
from tls_harness import Pki, client_context, have_openssl

HEADERS = {"v1": v1_header, "v2": v2_header}


class SocketConn(HttpConn):
    """HttpConn over a socket the test already connected (and perhaps wrapped in TLS)."""

    def __init__(self, sock: socket.socket, timeout: float = 5.0):
        self.port = 0
        self.timeout = timeout
        self.sock = sock
        self.buf = bytearray()
        self.eof = False


def closed_without_data(sock: socket.socket, timeout: float = 5.0) -> bool:
    """True when the peer closes (FIN or reset) without sending a byte."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def accept_config(port: int, admin_port: int, pools: dict[str, list[int]], listeners: list[dict],
                  access_log: str, balance: str = "round_robin") -> str:
    lines = ["[runtime]", "workers = 1", 'grace_period = "1s"', *runtime_user_lines(),
             "[admin]", f'listen = "{HOST}:{admin_port}"',
             "[log]", 'level = "info"', f'access = "{access_log}"']
    for listener in listeners:
        name = listener["name"]
        lines += [f"[listeners.{name}]", f'bind = "{HOST}:{listener["port"]}"',
                  f'protocol = "{listener.get("protocol", "http")}"',
                  f'pool = "{listener["pool"]}"', "proxy_protocol = true",
                  f"proxy_protocol_from = {json.dumps(listener['from'])}",
                  f"[listeners.{name}.timeouts]", 'tls_handshake = "1s"']
        if "tls" in listener:
            cert, key = listener["tls"]
            lines += [f"[listeners.{name}.tls]",
                      f'certificates = [{{ cert = "{cert}", key = "{key}" }}]']
    for name, backends in pools.items():
        listed = ", ".join(f'{{ address = "{HOST}:{p}" }}' for p in backends)
        lines += [f"[pools.{name}]", f'balance = "{balance}"', f"backends = [{listed}]"]
        if balance == "consistent_hash":
            lines.append('hash_key = "client_ip"')
    return "\n".join(lines) + "\n"


class ProxyProtocolAcceptTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        self.apps = [self.backend(HttpBackend, f"app{i}") for i in range(3)]
        self.echo = self.backend(EchoBackend)
        self.port, self.untrusted, self.l4, self.admin = (free_port() for _ in range(4))
        self.log_path = Path(self.tmpdir) / "access.log"
        trusted = ["127.0.0.0/8"]
        listeners = [
            {"name": "web", "port": self.port, "pool": "app", "from": trusted},
            {"name": "elsewhere", "port": self.untrusted, "pool": "app", "from": ["10.0.0.0/8"]},
            {"name": "l4", "port": self.l4, "pool": "echo", "protocol": "tcp", "from": trusted},
        ]
        pools = {"app": [a.port for a in self.apps], "echo": [self.echo.port]}
        self.start_ringlb(accept_config(self.port, self.admin, pools, listeners, str(self.log_path),
                                        balance="consistent_hash"), self.port)

    def connect(self, port: int) -> socket.socket:
        sock = socket.create_connection((HOST, port), timeout=5)
        self.addCleanup(sock.close)
        return sock

    def get(self, header: bytes, target: str = "/echo", port: int | None = None):
        sock = self.connect(port or self.port)
        sock.sendall(header)
        conn = SocketConn(sock)
        return conn.request("GET", target)

    def metric(self, listener: str, reason: str) -> int:
        with urllib.request.urlopen(f"http://{HOST}:{self.admin}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        wanted = f'ringlb_proxy_protocol_refused_total{{listener="{listener}",reason="{reason}"}}'
        for line in text.splitlines():
            if line.startswith(wanted + " "):
                return int(line.split()[-1])
        self.fail(f"{wanted} not in /metrics")

    def access_lines(self) -> list[str]:
        return self.log_path.read_text().splitlines() if self.log_path.exists() else []

    def test_carried_address_is_the_client_in_x_forwarded_for_and_the_access_log(self):
        for version, make in HEADERS.items():
            with self.subTest(version=version):
                client = "203.0.113.7" if version == "v1" else "2001:db8::7"
                response = self.get(make(client, 40000), f"/echo/{version}")
                self.assertEqual(response.status, 200, str(response))
                echoed = response.json()
                forwarded = {k.lower(): v for k, v in echoed["headers"]}["x-forwarded-for"]
                self.assertEqual(forwarded, client)
                self.assertTrue(wait_until(lambda: any(
                    f"client={client}" in line and f"/echo/{version}" in line
                    for line in self.access_lines()), 3), self.access_lines())

    def test_client_ip_hashing_uses_the_carried_address(self):
        picked = {}
        for i in range(24):
            client = f"198.51.100.{i + 1}"
            first = self.get(v2_header(client, 1000 + i)).header("X-Backend")
            again = self.get(v1_header(client, 2000 + i)).header("X-Backend")
            self.assertEqual(first, again, f"{client} moved between v2 and v1 connections")
            picked[client] = first
        # Every connection comes from 127.0.0.1: hashing the socket's peer would pick one backend.
        self.assertGreater(len(set(picked.values())), 1, picked)

    def test_a_bare_header_then_bytes_split_one_at_a_time_is_read_exactly(self):
        for version, make in HEADERS.items():
            with self.subTest(version=version):
                sock = self.connect(self.port)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                data = make("192.0.2.33", 5555) + b"GET /echo HTTP/1.1\r\nHost: h\r\n\r\n"
                for byte in data:
                    sock.sendall(bytes([byte]))
                    time.sleep(0.001)
                response = SocketConn(sock).read_response()
                self.assertEqual(response.status, 200, str(response))
                forwarded = {k.lower(): v for k, v in response.json()["headers"]}
                self.assertEqual(forwarded["x-forwarded-for"], "192.0.2.33")

    def test_v2_tlvs_are_skipped_even_when_they_arrive_in_pieces(self):
        tlv = b"\x04" + (900).to_bytes(2, "big") + b"t" * 900  # PP2_TYPE_NOOP
        data = v2_header("192.0.2.77", 7777, tlvs=tlv) + b"GET /echo HTTP/1.1\r\nHost: h\r\n\r\n"
        sock = self.connect(self.port)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(data), 100):
            sock.sendall(data[start:start + 100])
            time.sleep(0.005)
        response = SocketConn(sock).read_response()
        self.assertEqual(response.status, 200, str(response))
        forwarded = {k.lower(): v for k, v in response.json()["headers"]}
        self.assertEqual(forwarded["x-forwarded-for"], "192.0.2.77")

    def test_h2c_after_the_header_carries_the_address_on_every_stream(self):
        sock = self.connect(self.port)
        sock.sendall(v2_header("2001:db8::42", 4242))
        with H2Client(sock=sock) as client:
            for _ in range(3):
                stream = client.get("/echo")
                self.assertEqual(stream.status, 200, str(stream))
                echoed = json.loads(bytes(stream.body))
                forwarded = {k.lower(): v for k, v in echoed["headers"]}
                self.assertEqual(forwarded["x-forwarded-for"], "2001:db8::42")

    def test_v2_local_uses_the_real_peer(self):
        response = self.get(v2_header("192.0.2.1", 1, local=True))
        self.assertEqual(response.status, 200, str(response))
        forwarded = {k.lower(): v for k, v in response.json()["headers"]}
        self.assertEqual(forwarded["x-forwarded-for"], "127.0.0.1")

    def test_an_untrusted_source_is_closed_and_counted(self):
        for version, make in HEADERS.items():
            with self.subTest(version=version):
                sock = self.connect(self.untrusted)
                sock.sendall(make("192.0.2.1", 1) + b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
                self.assertTrue(closed_without_data(sock))
        self.assertEqual(self.metric("elsewhere", "untrusted"), 2)
        self.ringlb.wait_for_log("untrusted (not in proxy_protocol_from)")
        self.assertEqual(sum(len(a.requests) for a in self.apps), 0)

    def test_a_request_without_a_header_or_with_garbage_is_closed(self):
        for raw in (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
                    b"PROXY TCP4 192.0.2.1 192.0.2.2 1 99999\r\nGET / HTTP/1.1\r\n\r\n",
                    b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff" + b"\x00" * 64,  # 65535 claimed
                    b"\x16\x03\x01\x00\xa5\x01"):
            with self.subTest(raw=raw[:20]):
                sock = self.connect(self.port)
                sock.sendall(raw)
                self.assertTrue(closed_without_data(sock))
        self.assertEqual(self.metric("web", "invalid"), 4)
        self.assertEqual(sum(len(a.requests) for a in self.apps), 0)

    def test_a_truncated_header_times_out(self):
        for version, make in HEADERS.items():
            with self.subTest(version=version):
                sock = self.connect(self.port)
                sock.sendall(make("192.0.2.1", 1)[:-3])
                started = time.monotonic()
                self.assertTrue(closed_without_data(sock, timeout=4))
                self.assertGreater(time.monotonic() - started, 0.7)  # tls_handshake = "1s"
        self.assertEqual(self.metric("web", "timeout"), 2)

    def test_a_header_then_an_immediate_close_ends_cleanly(self):
        for _ in range(20):
            sock = socket.create_connection((HOST, self.port), timeout=5)
            sock.sendall(v2_header("192.0.2.9", 9))
            sock.close()
        response = self.get(v1_header("192.0.2.10", 10))
        self.assertEqual(response.status, 200)

    def test_l4_listener_tunnels_after_the_header_and_logs_the_carried_client(self):
        for version, make in HEADERS.items():
            with self.subTest(version=version):
                sock = self.connect(self.l4)
                payload = f"hello over {version}".encode()
                sock.sendall(make("192.0.2.44", 4444) + payload)
                self.assertEqual(recv_exact(sock, len(payload)), payload)
                sock.close()
        self.assertTrue(wait_until(lambda: sum(
            "client=192.0.2.44:4444" in line for line in self.access_lines()) == 2, 3),
            self.access_lines())

    def test_a_flood_of_untrusted_connections_is_closed_and_logged_sparingly(self):
        socks = []
        for _ in range(200):
            sock = socket.create_connection((HOST, self.untrusted), timeout=5)
            socks.append(sock)
        for sock in socks:
            self.assertTrue(closed_without_data(sock))
            sock.close()
        self.assertEqual(self.metric("elsewhere", "untrusted"), 200)
        self.assertLessEqual(self.ringlb.log().count("not in proxy_protocol_from"), 3)
        self.assertEqual(self.get(v1_header("192.0.2.10", 10)).status, 200)


@unittest.skipUnless(have_openssl(), "the openssl command line tool is not installed")
class ProxyProtocolTlsTest(RinglbTestCase):
    def setUp(self):
        super().setUp()
        pki = Pki(os.path.join(self.tmpdir, "pki"))
        cert = pki.leaf("a", ["a.test"])
        self.context = client_context(pki, alpn=["http/1.1"])
        self.app = self.backend(HttpBackend, "app")
        self.port, admin = free_port(), free_port()
        listeners = [{"name": "tls", "port": self.port, "pool": "app", "from": ["127.0.0.0/8"],
                      "tls": cert}]
        self.start_ringlb(accept_config(self.port, admin, {"app": [self.app.port]}, listeners,
                                        "off"), self.port)

    def test_the_header_comes_before_the_tls_handshake(self):
        for version, make in HEADERS.items():
            with self.subTest(version=version):
                raw = socket.create_connection((HOST, self.port), timeout=5)
                self.addCleanup(raw.close)
                raw.sendall(make("203.0.113.99", 9999))
                sock = self.context.wrap_socket(raw, server_hostname="a.test")
                response = SocketConn(sock).request("GET", "/echo", host="a.test")
                self.assertEqual(response.status, 200, str(response))
                forwarded = {k.lower(): v for k, v in response.json()["headers"]}
                self.assertEqual(forwarded["x-forwarded-for"], "203.0.113.99")

    def test_a_client_hello_without_a_header_is_closed(self):
        raw = socket.create_connection((HOST, self.port), timeout=5)
        self.addCleanup(raw.close)
        with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
            self.context.wrap_socket(raw, server_hostname="a.test")


class ProxyProtocolSendTest(RinglbTestCase):
    def start(self, version: str, protocol: str, mode: str) -> int:
        self.backend_ = self.backend(ProxyProtocolBackend, mode)
        port = free_port()
        lines = ["[runtime]", "workers = 1", 'grace_period = "1s"', *runtime_user_lines(),
                 "[log]", 'access = "off"',
                 "[listeners.web]", f'bind = "{HOST}:{port}"', f'protocol = "{protocol}"',
                 'pool = "app"',
                 "[pools.app]", f'send_proxy_protocol = "{version}"',
                 f'backends = [{{ address = "{HOST}:{self.backend_.port}" }}]']
        self.start_ringlb("\n".join(lines) + "\n", port)
        return port

    def test_health_probes_send_a_local_header_first(self):
        self.backend_ = self.backend(ProxyProtocolBackend, "http")
        port = free_port()
        lines = ["[runtime]", "workers = 1", 'grace_period = "1s"', *runtime_user_lines(),
                 "[log]", 'access = "off"',
                 "[listeners.web]", f'bind = "{HOST}:{port}"', 'pool = "app"',
                 "[pools.app]", 'send_proxy_protocol = "v2"',
                 f'backends = [{{ address = "{HOST}:{self.backend_.port}" }}]',
                 "[pools.app.health]", 'check = "http"', 'interval = "100ms"',
                 'initial_state = "unknown"', "rise = 1"]
        self.start_ringlb("\n".join(lines) + "\n", port)
        self.assertTrue(wait_until(lambda: len(self.backend_.headers) >= 3, 5))
        probes = list(self.backend_.headers)
        self.assertTrue(all(h.get("command") == 0x20 for h in probes if h), probes)  # LOCAL
        with HttpConn(port) as conn:
            self.assertEqual(conn.request("GET", "/").status, 200)

    def test_l4_tunnels_send_the_client_address(self):
        for version in ("v1", "v2"):
            with self.subTest(version=version):
                port = self.start(version, "tcp", "echo")
                sock = socket.create_connection((HOST, port), timeout=5)
                self.addCleanup(sock.close)
                sock.sendall(b"ping")
                self.assertEqual(recv_exact(sock, 4), b"ping")
                header = self.backend_.headers[0]
                self.assertEqual(header["version"], int(version[1]))
                self.assertEqual(header["source"], list(sock.getsockname()))
                self.assertEqual(header["destination"], [HOST, port])
                self.ringlb.cleanup()

    def test_http_connections_send_it_and_never_carry_another_clients_requests(self):
        for version in ("v1", "v2"):
            with self.subTest(version=version):
                port = self.start(version, "http", "http")
                clients = {}
                for name in ("a", "b", "a", "b"):  # a's connection is idle when b asks
                    if name not in clients:
                        clients[name] = HttpConn(port)
                        self.addCleanup(clients[name].close)
                    response = clients[name].request("GET", "/", headers=[("X-Client", name)])
                    self.assertEqual(response.status, 200, str(response))
                    body = response.json()
                    self.assertEqual(body["header"]["source"],
                                     list(clients[name].sock.getsockname()))
                    self.assertEqual(body["header"]["version"], int(version[1]))
                for index, seen in enumerate(self.backend_.requests_by_conn):
                    self.assertLessEqual(len(set(seen)), 1,
                                         f"backend connection {index} served clients {seen}")
                self.assertTrue(all("error" not in h for h in self.backend_.headers))
                self.ringlb.cleanup()


if __name__ == "__main__":
    unittest.main()
