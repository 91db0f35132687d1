#!/usr/bin/env python3
"""A normal TLS handshake's latency while a flood of ClientHellos that never finish hits the same
listener, and ringlb's memory under a client that keeps sending after its close_notify.

    bench/tls_flood.py handshake --bin build/ringlb [--limit N] [--flooders 3] [--seconds 10]
    bench/tls_flood.py close_notify --bin build/ringlb [--seconds 10]

`handshake`: an http TLS listener with an RSA-2048 certificate (a signature costs about a
millisecond) and one worker; `--flooders` processes each connect, send one ClientHello and
close, as fast as they can; a probe does a full handshake (no resumption) every 100 ms and
reports the latency percentiles and how many failed. `--limit N` writes
runtime.max_tls_handshakes_per_second = N (0 = none); without it the key is left out, so a
binary that predates it runs too (and an unknown key is not written).

`close_notify`: one connection sends close_notify, then 16 KiB records for `--seconds`;
prints ringlb's RSS before and after and how many bytes the kernel took.
"""
import argparse
import multiprocessing
import os
import pwd
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def make_cert(directory: Path) -> tuple[str, str]:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=a.test",
                    "-addext", "subjectAltName=DNS:a.test"],
                   cwd=directory, check=True, capture_output=True)
    os.chmod(directory / "key.pem", 0o600)
    return str(directory / "cert.pem"), str(directory / "key.pem")


def backend(port_out):
    """A minimal HTTP backend (keep-alive off)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 0))
    listener.listen(128)
    port_out.put(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        conn.close()


def start(binary: str, tmp: Path, limit) -> tuple[subprocess.Popen, int, multiprocessing.Process]:
    cert, key = make_cert(tmp)
    queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=backend, args=(queue,), daemon=True)
    server.start()
    backend_port = queue.get()
    port = free_port()
    user = pwd.getpwuid(os.geteuid()).pw_name
    runtime = ["[runtime]", "workers = 1", 'grace_period = "1s"', f'user = "{user}"']
    if limit is not None:
        runtime.append(f"max_tls_handshakes_per_second = {limit}")
    text = "\n".join(runtime + [
        "[log]", 'level = "warn"', 'access = "off"',
        "[listeners.web]", f'bind = "{HOST}:{port}"', 'pool = "app"',
        "[listeners.web.tls]", f'certificates = [ {{ cert = "{cert}", key = "{key}" }} ]',
        "[pools.app]", f'backends = [ {{ address = "{HOST}:{backend_port}" }} ]']) + "\n"
    (tmp / "ringlb.toml").write_text(text)
    proc = subprocess.Popen([binary, "--config", str(tmp / "ringlb.toml")],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "log", "w"))
    for _ in range(100):
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return proc, port, server
        except OSError:
            time.sleep(0.05)
    sys.exit("ringlb did not start: " + (tmp / "log").read_text())


def stop(proc: subprocess.Popen):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def client_hello() -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="a.test")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def flood(port: int, stop_at: float, counter):
    hello = client_hello()
    sent = 0
    while time.monotonic() < stop_at:
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                sock.sendall(hello)
                sent += 1
        except OSError:
            time.sleep(0.001)
    with counter.get_lock():
        counter.value += sent


def probe(port: int, seconds: float) -> tuple[list[float], dict]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    latencies, failures = [], {}
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        begin = time.monotonic()
        try:
            raw = socket.create_connection((HOST, port), timeout=5)
            with context.wrap_socket(raw, server_hostname="a.test") as sock:
                latencies.append(time.monotonic() - begin)
        except (OSError, ssl.SSLError) as error:
            kind = type(error).__name__  # TimeoutError: 5 s; a reset or EOF: refused
            failures[kind] = failures.get(kind, 0) + 1
        time.sleep(0.1)
    return latencies, failures


def handshake_bench(args):
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, server = start(args.bin, Path(tmp), args.limit)
        try:
            idle, _ = probe(port, 2)
            counter = multiprocessing.Value("q", 0)
            stop_at = time.monotonic() + args.seconds + 1
            flooders = [multiprocessing.Process(target=flood, args=(port, stop_at, counter))
                        for _ in range(args.flooders)]
            for f in flooders:
                f.start()
            time.sleep(1)
            cpu_before = sum(os.times()[:2])
            latencies, failures = probe(port, args.seconds)
            for f in flooders:
                f.join()
            ms = sorted(x * 1000 for x in latencies)
            def pct(p):
                return ms[min(len(ms) - 1, int(len(ms) * p))] if ms else float("nan")
            print(f"binary={args.bin} limit={args.limit} flooders={args.flooders} "
                  f"seconds={args.seconds}")
            print(f"idle handshake: median {statistics.median(idle) * 1000:.1f} ms")
            print(f"ClientHellos sent by the flood: {counter.value} "
                  f"({counter.value / (args.seconds + 1):.0f}/s)")
            print(f"probe handshakes during the flood: {len(ms)} ok, failed: {failures or 0}; "
                  f"latency p50 {pct(0.5):.1f} ms, p90 {pct(0.9):.1f} ms, max {pct(1.0):.1f} ms")
        finally:
            stop(proc)
            server.kill()


def close_notify_bench(args):
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, server = start(args.bin, Path(tmp), None)
        try:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = socket.create_connection((HOST, port), timeout=5)
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = context.wrap_bio(incoming, outgoing, server_hostname="a.test")
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    sock.sendall(outgoing.read())
                    incoming.write(sock.recv(1 << 16))
            sock.sendall(outgoing.read())
            time.sleep(0.2)
            before = rss(proc.pid)
            try:
                tls.unwrap()
            except ssl.SSLWantReadError:
                pass
            sock.sendall(outgoing.read())
            flood_bytes = (b"\x17\x03\x03\x40\x00" + os.urandom(16384)) * 16
            sock.settimeout(0.5)
            sent, end = 0, "still open"
            stop_at = time.monotonic() + args.seconds
            while time.monotonic() < stop_at:
                try:
                    sent += sock.send(flood_bytes)
                except TimeoutError:
                    continue
                except OSError as error:
                    end = f"closed by ringlb ({error.__class__.__name__})"
                    break
            after = rss(proc.pid)
            sock.close()
            print(f"binary={args.bin} seconds={args.seconds}: ringlb RSS before "
                  f"{before / 2**20:.1f} MiB, after {after / 2**20:.1f} MiB; "
                  f"{sent / 2**20:.0f} MiB sent after close_notify; connection {end}")
        finally:
            stop(proc)
            server.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["handshake", "close_notify"])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--flooders", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    if args.mode == "handshake":
        handshake_bench(args)
    else:
        close_notify_bench(args)


if __name__ == "__main__":
    main()
