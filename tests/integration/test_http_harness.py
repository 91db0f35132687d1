# Checks the HTTP test machinery without ringlb: the recording backend's answers and records, the
# fault backends, the raw client's framing (length, chunked, close, pipelined, cut short) and the
# config builder, so a failure in the HTTP suites points at ringlb and not at the harness.
import hashlib
import json
import os
import socket
import time
import tomllib
import unittest

from harness import connect, free_port, recv_until_eof, rss_bytes, run_ringlb, ringlb_bin, \
    wait_until, write_config
from http_harness import (FaultBackend, HttpBackend, HttpConn, IncompleteResponse, NoResponse,
                          REQUEST_ID, RssSampler, build_request, chunked_encode, http_config,
                          pattern_bytes, pattern_chunks, pattern_sha256, rechunk)


class Served(unittest.TestCase):
    def serve(self, cls, *args, **kwargs):
        server = cls(*args, **kwargs)
        self.addCleanup(server.close)
        return server

    def conn(self, port, timeout=5.0):
        conn = HttpConn(port, timeout)
        self.addCleanup(conn.close)
        return conn


class PatternTest(unittest.TestCase):
    def test_pattern_is_deterministic_and_position_dependent(self):
        data = pattern_bytes(200_000)
        self.assertEqual(len(data), 200_000)
        self.assertEqual(hashlib.sha256(data).hexdigest(), pattern_sha256(200_000))
        self.assertNotEqual(data[:65536], data[65536:131072])
        self.assertEqual(b"".join(rechunk(pattern_chunks(200_000), 777)), data)

    def test_chunked_encode(self):
        self.assertEqual(chunked_encode([b"hello", b"", b"!"]), b"5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n")


class BackendTest(Served):
    def setUp(self):
        self.backend = self.serve(HttpBackend, "b1")

    def test_default_answer_and_records_keep_alive(self):
        conn = self.conn(self.backend.port)
        for i in range(3):
            response = conn.request("GET", f"/x{i}", [("X-Test", "v")])
            self.assertEqual(response.status, 200)
            self.assertEqual(response.body, f"b1 GET /x{i}\n".encode())
            self.assertEqual(response.header("X-Backend-Conn"), "1")
        self.assertEqual(self.backend.connections, 1)
        self.assertEqual(self.backend.targets(), ["/x0", "/x1", "/x2"])
        first = self.backend.requests[0]
        self.assertEqual(first.header("x-test"), "v")
        self.assertTrue(first.raw_head.startswith(b"GET /x0 HTTP/1.1\r\nHost: test.local\r\n"))
        self.assertTrue(first.complete)

    def test_echo_of_a_content_length_and_a_chunked_body(self):
        conn = self.conn(self.backend.port)
        body = os.urandom(60_000)
        for chunked in (False, True):
            echoed = conn.request("POST", "/echo", body=body, chunked=chunked).json()
            self.assertEqual(echoed["body_sha256"], hashlib.sha256(body).hexdigest())
            self.assertEqual(echoed["body_len"], len(body))
            self.assertEqual(echoed["framing"], "chunked" if chunked else "length")
        self.assertEqual(echoed["body"].encode("latin-1"), body)

    def test_chunk_extensions_and_trailers_are_recorded(self):
        conn = self.conn(self.backend.port)
        raw = (b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               + chunked_encode([b"hello"], extension=b";a=b", trailers=b"X-T: 1\r\n"))
        conn.send(raw)
        echoed = conn.read_response().json()
        self.assertEqual(echoed["body"], "hello")
        self.assertEqual(echoed["trailers"], [["X-T", "1"]])
        self.assertEqual(self.backend.requests[0].chunk_extensions, [b"a=b"])

    def test_stream_chunked_until_close_and_head(self):
        conn = self.conn(self.backend.port, timeout=10)
        big = conn.request("GET", "/stream/3000000", timeout=10)
        self.assertEqual(hashlib.sha256(big.body).hexdigest(), pattern_sha256(3_000_000))
        chunked = conn.request("GET", "/chunked/100000?chunk=999")
        self.assertEqual(chunked.framing, "chunked")
        self.assertEqual(chunked.body, pattern_bytes(100_000))
        head = conn.request("HEAD", "/stream/5000")
        self.assertEqual((head.header("Content-Length"), head.body), ("5000", b""))
        self.assertEqual(conn.request("GET", "/drip/3/10").body, b"d" * 300)
        self.assertEqual(conn.request("GET", "/status/204").status, 204)
        until = conn.request("GET", "/until-close/70000")
        self.assertEqual((until.framing, until.body), ("close", pattern_bytes(70_000)))

    def test_pipelined_responses_come_back_in_order(self):
        conn = self.conn(self.backend.port)
        conn.send(b"".join(build_request("GET", f"/p{i}") for i in range(5)))
        bodies = [conn.read_response().body for _ in range(5)]
        self.assertEqual(bodies, [f"b1 GET /p{i}\n".encode() for i in range(5)])

    def test_expect_100_continue(self):
        conn = self.conn(self.backend.port)
        conn.send(b"POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 4\r\n\r\n")
        self.assertEqual(conn.read_response(timeout=2).status, 100)
        conn.send(b"data")
        self.assertEqual(conn.read_response().json()["body"], "data")
        conn2 = self.conn(self.backend.port)
        conn2.send(b"POST /expect-reject HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                   b"Content-Length: 4\r\n\r\n")
        self.assertEqual(conn2.read_response(timeout=2).status, 417)

    def test_websocket_upgrade_echoes_bytes(self):
        conn = self.conn(self.backend.port)
        conn.send(b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        self.assertEqual(conn.read_response().status, 101)
        self.assertEqual(conn._line(time.monotonic() + 2), b"hello from backend")
        conn.send(b"ping")
        while len(conn.buf) < 4:
            conn._fill(time.monotonic() + 2)
        self.assertEqual(bytes(conn.buf), b"ping")
        self.assertEqual(self.conn(self.backend.port).request("GET", "/ws").status, 426)

    def test_connection_close_and_http10(self):
        conn = self.conn(self.backend.port)
        response = conn.request("GET", "/", [("Connection", "close")])
        self.assertTrue(response.closes)
        self.assertTrue(conn.closed_within(1))
        conn10 = self.conn(self.backend.port)
        self.assertEqual(conn10.request("GET", "/", version="HTTP/1.0", host=None).status, 200)
        self.assertTrue(conn10.closed_within(1))

    def test_idle_close_and_reset(self):
        backend = self.serve(HttpBackend, "idle", idle_close=0.2)
        conn = self.conn(backend.port)
        self.assertEqual(conn.request().status, 200)
        self.assertTrue(conn.closed_within(1))
        backend.reset()
        self.assertEqual((backend.connections, backend.requests, backend.bytes_received),
                         (0, [], 0))

    def test_records_raw_bytes_and_rejects_ambiguous_framing_from_the_proxy(self):
        conn = self.conn(self.backend.port)
        conn.send(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        self.assertEqual(conn.read_response().status, 400)
        self.assertTrue(wait_until(lambda: self.backend.errors, 1))
        self.assertIn(b"Transfer-Encoding", bytes(self.backend.conns[0].raw))

    def test_extra_bytes_and_hop_by_hop_answers(self):
        conn = self.conn(self.backend.port)
        self.assertEqual(conn.request("GET", "/extra-bytes").body, b"ok")
        self.assertEqual(conn.read_response().header("X-Forged"), "yes")
        conn2 = self.conn(self.backend.port)
        self.assertEqual(conn2.request("GET", "/hop-by-hop").header("X-Secret"), "hop")


class FaultBackendTest(Served):
    def request_bytes(self):
        return b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"

    def test_reset(self):
        fault = self.serve(FaultBackend, "reset")
        conn = self.conn(fault.port)
        conn.send(self.request_bytes())
        self.assertEqual(conn.read_until_closed(2)[1], "reset")
        self.assertEqual(len(fault.heads), 1)

    def test_close_without_response(self):
        fault = self.serve(FaultBackend, "close")
        conn = self.conn(fault.port)
        conn.send(self.request_bytes())
        with self.assertRaises(NoResponse) as caught:
            conn.read_response(timeout=2)
        self.assertEqual(caught.exception.how, "eof")

    def test_hang_holds_until_the_peer_closes(self):
        fault = self.serve(FaultBackend, "hang")
        conn = connect(fault.port)
        conn.sendall(self.request_bytes())
        conn.settimeout(0.3)
        with self.assertRaises(TimeoutError):
            conn.recv(1)
        conn.close()
        self.assertTrue(wait_until(lambda: fault.peer_closed == 1, 2))

    def test_raw_close_mid_body_is_incomplete(self):
        raw = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100
        fault = self.serve(FaultBackend, "raw", raw, "close")
        conn = self.conn(fault.port)
        conn.send(self.request_bytes())
        with self.assertRaises(IncompleteResponse) as caught:
            conn.read_response(timeout=2)
        self.assertEqual(caught.exception.response.body_len, 100)

    def test_raw_chunked_cut_short_is_incomplete(self):
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
        fault = self.serve(FaultBackend, "raw", raw, "close")
        conn = self.conn(fault.port)
        conn.send(self.request_bytes())
        with self.assertRaises(IncompleteResponse):
            conn.read_response(timeout=2)

    def test_raw_garbage_then_hold(self):
        fault = self.serve(FaultBackend, "raw", b"garbage\r\n\r\n", "hold")
        with connect(fault.port) as sock:
            sock.sendall(self.request_bytes())
            self.assertEqual(sock.recv(100), b"garbage\r\n\r\n")


class ClientTest(Served):
    def test_request_id_pattern(self):
        self.assertTrue(REQUEST_ID.match("0123456789abcdef0123456789abcdef"))
        self.assertFalse(REQUEST_ID.match("0123456789ABCDEF0123456789abcdef"))

    def test_build_request(self):
        self.assertEqual(build_request("POST", "/a", [("X", "1")], b"hi"),
                         b"POST /a HTTP/1.1\r\nHost: test.local\r\nX: 1\r\nContent-Length: 2"
                         b"\r\n\r\nhi")
        self.assertEqual(build_request("POST", "/a", body=b"hello", chunked=True, chunk_size=3,
                                       host=None),
                         b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n")

    def test_read_response_times_out(self):
        fault = self.serve(FaultBackend, "hang")
        conn = self.conn(fault.port)
        conn.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        start = time.monotonic()
        with self.assertRaises(TimeoutError):
            conn.read_response(timeout=0.3)
        self.assertLess(time.monotonic() - start, 1)

    def test_rss_sampler_reads_own_process(self):
        with RssSampler(os.getpid()) as sampler:
            time.sleep(0.1)
        self.assertGreater(sampler.peak, 1 << 20)
        self.assertGreater(rss_bytes(os.getpid()), 1 << 20)


class ConfigTest(unittest.TestCase):
    def config(self):
        return http_config(8080, {"app": [9001, (9002, 3)], "api": [9003]},
                           routes=[{"host": "*.example.com", "path_prefix": "/v1/",
                                    "pool": "api"}],
                           header_timeout="2s", max_body_bytes="1KiB", response_timeout="1s",
                           idle_timeout="5s", access_log="/tmp/access.log")

    def test_builder_output_is_toml_with_the_expected_shape(self):
        parsed = tomllib.loads(self.config())
        web = parsed["listeners"]["web"]
        self.assertEqual((web["protocol"], web["pool"], web["bind"]),
                         ("http", "app", "127.0.0.1:8080"))
        self.assertEqual(web["timeouts"], {"header": "2s", "client_idle": "60s"})
        self.assertEqual(web["limits"], {"max_header_bytes": "32KiB", "max_body_bytes": "1KiB"})
        self.assertEqual(web["routes"], [{"host": "*.example.com", "path_prefix": "/v1/",
                                          "pool": "api"}])
        self.assertEqual(parsed["pools"]["app"]["backends"][1],
                         {"address": "127.0.0.1:9002", "weight": 3})
        self.assertEqual(parsed["pools"]["api"]["timeouts"],
                         {"connect": "2s", "response": "1s", "idle": "5s"})
        self.assertEqual(parsed["log"]["access"], "/tmp/access.log")
        self.assertEqual(tomllib.loads(http_config(1, [2], max_body_bytes=0))["listeners"]["web"]
                         ["limits"]["max_body_bytes"], 0)

    @unittest.skipUnless(ringlb_bin(), "RINGLB_BIN is not set")
    def test_ringlb_check_accepts_every_key_the_builder_writes(self):
        """--check reports nothing but (at most) 'http is not implemented' on the protocol line."""
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            text = self.config()
            path = write_config(tmp, text)
            result = run_ringlb("--check", "-c", path)
            protocol_line = text.splitlines().index('protocol = "http"') + 1
            problems = [line for line in (result.stdout + result.stderr).splitlines()
                        if line.startswith(path + ":")
                        and not line.startswith(f"{path}:{protocol_line}:")]
            self.assertEqual(problems, [], result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
