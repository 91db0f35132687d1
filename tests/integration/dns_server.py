# A DNS server on loopback for the discovery tests: answers A, AAAA and SRV from a table the test
# changes, over UDP and TCP (a UDP answer over 512 bytes is truncated, so the client retries over
# TCP), with modes where it stops answering, answers SERVFAIL, garbage, truncated bytes, or late.
# Python 3.11 stdlib only; the wire format is written by hand (RFC 1035, RFC 2782, RFC 3596).
#
# In a test: `server = DnsServer(); server.set({...}); server.mode = "silent"`.
# By hand: `python3 dns_server.py --port 5353 --table table.json` re-reads the JSON table (the
# same shape as set()'s argument, plus an optional "mode") whenever the file changes.
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import struct
import threading
import time

TYPES = {"A": 1, "AAAA": 28, "SRV": 33}
HOST = "127.0.0.1"


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def read_question(query: bytes) -> tuple[int, str, int, int]:
    """(id, lower-case name, type, offset after the question) of a query."""
    (ident,) = struct.unpack("!H", query[:2])
    labels, at = [], 12
    while query[at] != 0:
        length = query[at]
        labels.append(query[at + 1:at + 1 + length].decode(errors="replace").lower())
        at += 1 + length
    qtype, _ = struct.unpack("!HH", query[at + 1:at + 5])
    return ident, ".".join(labels), qtype, at + 5


def rdata(kind: str, value) -> bytes:
    if kind == "A":
        return ipaddress.IPv4Address(value).packed
    if kind == "AAAA":
        return ipaddress.IPv6Address(value).packed
    priority, weight, port, target = value
    return struct.pack("!HHH", priority, weight, port) + encode_name(target)


def record(name: str, kind: str, value, ttl: int) -> bytes:
    data = rdata(kind, value)
    return encode_name(name) + struct.pack("!HHIH", TYPES[kind], 1, ttl, len(data)) + data


class DnsServer:
    """Answers from `table`: {"name": {"A": [...], "AAAA": [...], "SRV": [[prio, weight, port,
    "target"], ...]}}. A name absent from the table is NXDOMAIN; a name present without records
    of the asked type is NOERROR with no answer. SRV answers carry the targets' A/AAAA records in
    the additional section unless `additional` is False.

    mode: "normal" | "silent" (drops every query) | "servfail" | "garbage" (random bytes) |
    "truncated" (a reply cut short inside its answer) | "slow" (answers after `delay` seconds).
    """

    def __init__(self, port: int = 0):
        self.table: dict = {}
        self.ttl = 30
        self.additional = True
        self.mode = "normal"
        self.delay = 0.0
        self.queries = 0
        self.lock = threading.Lock()
        # UDP and TCP on one port: an ephemeral UDP port may already be taken over TCP by
        # another test's socket, so try again with another until both bind.
        for attempt in range(50):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind((HOST, port))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((HOST, self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
                if port or attempt == 49:
                    raise
        self.tcp.listen(16)
        self.closed = False
        for loop in (self._udp_loop, self._tcp_loop):
            threading.Thread(target=loop, daemon=True).start()

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def set(self, table: dict, ttl: int | None = None):
        with self.lock:
            self.table = {name.lower(): records for name, records in table.items()}
            if ttl is not None:
                self.ttl = ttl

    def answer(self, query: bytes, over_tcp: bool) -> bytes | None:
        with self.lock:
            self.queries += 1
            mode, delay = self.mode, self.delay
        if mode == "silent":
            return None
        if mode == "garbage":
            return os.urandom(64)
        if mode == "slow":
            time.sleep(delay)
        ident, name, qtype, end = read_question(query)
        question = query[12:end]
        if mode == "servfail":
            return struct.pack("!HHHHHH", ident, 0x8182, 1, 0, 0, 0) + question
        reply = self._reply(ident, name, qtype, question)
        if mode == "truncated":
            return reply[:len(reply) - 3]
        if not over_tcp and len(reply) > 512:
            return struct.pack("!HHHHHH", ident, 0x8380, 1, 0, 0, 0) + question  # TC set
        return reply

    def _reply(self, ident: int, name: str, qtype: int, question: bytes) -> bytes:
        with self.lock:
            entry = self.table.get(name)
            ttl, additional = self.ttl, self.additional
            table = dict(self.table)
        if entry is None:
            return struct.pack("!HHHHHH", ident, 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN
        kind = next((k for k, v in TYPES.items() if v == qtype), None)
        answers = [record(name, kind, value, ttl) for value in entry.get(kind, [])] if kind else []
        extra = []
        if kind == "SRV" and additional:
            targets = sorted({value[3].lower() for value in entry.get("SRV", [])})
            for target in targets:
                for address_kind in ("A", "AAAA"):
                    for value in table.get(target, {}).get(address_kind, []):
                        extra.append(record(target, address_kind, value, ttl))
        header = struct.pack("!HHHHHH", ident, 0x8580, 1, len(answers), 0, len(extra))
        return header + question + b"".join(answers) + b"".join(extra)

    def _udp_loop(self):
        while not self.closed:
            try:
                query, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            threading.Thread(target=self._udp_reply, args=(query, peer), daemon=True).start()

    def _udp_reply(self, query: bytes, peer):
        try:
            reply = self.answer(query, over_tcp=False)
            if reply is not None:
                self.udp.sendto(reply, peer)
        except (OSError, IndexError, struct.error):
            pass

    def _tcp_loop(self):
        while not self.closed:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_serve, args=(conn,), daemon=True).start()

    def _tcp_serve(self, conn: socket.socket):
        with conn:
            try:
                while True:
                    head = conn.recv(2, socket.MSG_WAITALL)
                    if len(head) < 2:
                        return
                    (length,) = struct.unpack("!H", head)
                    query = conn.recv(length, socket.MSG_WAITALL)
                    reply = self.answer(query, over_tcp=True)
                    if reply is None:
                        continue
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
            except (OSError, IndexError, struct.error):
                return

    def close(self):
        self.closed = True
        for sock in (self.udp, self.tcp):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--table", required=True, help="a JSON file, re-read when it changes")
    args = parser.parse_args()
    server = DnsServer(args.port)
    print(f"dns_server on {server.address}", flush=True)
    seen = None
    while True:
        try:
            stamp = os.stat(args.table).st_mtime_ns
            if stamp != seen:
                seen = stamp
                with open(args.table) as f:
                    loaded = json.load(f)
                server.mode = loaded.pop("mode", "normal")
                server.set(loaded.pop("records", loaded), loaded.pop("ttl", None))
        except (OSError, ValueError):
            pass
        time.sleep(0.02)


if __name__ == "__main__":
    main()
