#!/usr/bin/env python3
"""Attack probe for f59e1c8 (parked receives) and 213c98f (1,024 idle upstreams).

Starts a hostile asyncio backend and ringlb (RINGLB_BIN, RINGLB_LEVER_RECEIVE_BUFFERS=$BUFS,
default 2), runs CLIENTS concurrent keep-alive clients, each ROUNDS requests of mixed kinds, checks
every response is complete and its own (body names the request id), then checks ringlb's CPU
while idle and its open fds. Usage: RINGLB_BIN=... python3 tests/repro/probe.py [kinds,...]
"""
import asyncio, os, random, re, signal, socket, subprocess, sys, tempfile, time

HOST = "127.0.0.1"
BIN = os.environ["RINGLB_BIN"]
BUFS = os.environ.get("BUFS", "2")
CLIENTS = int(os.environ.get("CLIENTS", "60"))
ROUNDS = int(os.environ.get("ROUNDS", "30"))
KINDS = sys.argv[1].split(",") if len(sys.argv) > 1 else [
    "ok", "close", "extra", "continue", "untilclose", "chunked", "post", "pipeline", "halfclose",
    "early", "midclose", "big"]
SIGNAL = os.environ.get("SIGNAL", "")  # "hup": SIGHUP every 0.5 s during the run


def free_port():
    s = socket.socket(); s.bind((HOST, 0)); p = s.getsockname()[1]; s.close(); return p


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1); fields[k.strip().lower()] = v.strip()
    return lines[0], fields


# ---- backend ----
async def backend(reader, writer):
    try:
        while True:
            try:
                start, fields = await read_head(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            path = start.split()[1]
            kind, rid = path.strip("/").split("/")
            length = int(fields.get("content-length", "0"))
            body = f"{kind}:{rid}".encode()
            if kind == "early":  # answer before the body, then read it
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
                if length: await reader.readexactly(length)
                continue
            if kind == "continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n"); await writer.drain()
            if length:
                got = await reader.readexactly(length)
                body += b":%d" % len(got)
            elif fields.get("transfer-encoding") == "chunked":
                n = 0
                while True:
                    size = int((await reader.readline()).strip(), 16)
                    if size == 0:
                        await reader.readline(); break
                    n += len(await reader.readexactly(size)); await reader.readline()
                body += b":%d" % n
            if kind == "close":
                writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain(); writer.close(); return
            if kind == "untilclose":
                writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + body[:3]); await writer.drain()
                await asyncio.sleep(0.01); writer.write(body[3:]); await writer.drain()
                writer.close(); return
            if kind == "midclose":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + body)
                await writer.drain(); writer.close(); return
            if kind == "chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                for i in range(0, len(body), 3):
                    piece = body[i:i + 3]
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece)); await writer.drain()
                writer.write(b"0\r\n\r\n"); await writer.drain(); continue
            if kind == "big":
                body = body + b"." * (200_000 - len(body))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
            if kind == "extra":  # bytes after the response, a little later
                await asyncio.sleep(0.002); writer.write(b"JUNKJUNK"); await writer.drain()
                writer.close(); return
    except Exception:
        pass
    finally:
        writer.close()


# ---- client ----
async def read_response(reader):
    start, fields = await read_head(reader)
    status = int(start.split()[1])
    if status == 100:
        return await read_response(reader)
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline(); break
            body += await reader.readexactly(size); await reader.readline()
    else:
        body = await reader.read()
    return status, fields, body


stats = {}


def note(key):
    stats[key] = stats.get(key, 0) + 1


async def client(port, cid):
    reader = writer = None
    for n in range(ROUNDS):
        kind = random.choice(KINDS)
        rid = f"{cid}x{n}"
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                note("connect refused (after SIGTERM)")
                return
        try:
            await asyncio.wait_for(one(reader, writer, kind, rid), 15)
            note("ok:" + kind)
            if kind in ("halfclose", "early"):
                writer.close(); writer = None
        except asyncio.TimeoutError:
            note("HANG:" + kind); print("HANG", kind, rid, flush=True)
            writer.close(); writer = None
        except Exception as e:
            note(re.sub(r"\d+x\d+[ab]?", "ID", f"fail:{kind}:{type(e).__name__}:{e}")[:90])
            writer.close(); writer = None
    if writer: writer.close()


def req(kind, rid, extra=b"", body=b""):
    return b"POST /%s/%s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" % (
        kind.encode(), rid.encode(), extra, len(body)) + body if body or kind in ("post",) else \
        b"GET /%s/%s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (kind.encode(), rid.encode(), extra)


async def one(reader, writer, kind, rid):
    expect = f"{kind}:{rid}".encode()
    if kind == "post":
        body = os.urandom(random.choice([10, 5000, 70000]))
        writer.write(req("post", rid, body=body)); expect += b":%d" % len(body)
    elif kind == "continue":
        body = b"b" * 3000
        writer.write(req("continue", rid, b"Expect: 100-continue\r\n", body=b"")[:0] +
                     b"POST /continue/%s HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3000\r\n\r\n" % rid.encode())
        await writer.drain()
        start, _ = await read_head(reader)
        if not start.split()[1] == "100":
            raise RuntimeError("no 100: " + start)
        writer.write(body); expect += b":3000"
    elif kind == "pipeline":
        writer.write(req("ok", rid + "a") + req("ok", rid + "b"))
        await writer.drain()
        for suffix in ("a", "b"):
            status, _, got = await read_response(reader)
            if got != f"ok:{rid}{suffix}".encode():
                raise RuntimeError(f"MIXUP {got[:40]!r} != {rid}{suffix}")
        return
    elif kind == "halfclose":
        writer.write(req("ok", rid)); await writer.drain(); writer.write_eof()
        expect = f"ok:{rid}".encode()
    elif kind == "early":
        writer.write(b"POST /early/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" % rid.encode())
        await writer.drain()
        status, _, got = await read_response(reader)
        if got != expect:
            raise RuntimeError(f"MIXUP {got[:40]!r}")
        try:
            writer.write(b"z" * 100000); await writer.drain()
        except ConnectionError:
            pass
        return
    else:
        writer.write(req(kind, rid))
    await writer.drain()
    if kind == "midclose":
        try:
            status, _, got = await read_response(reader)
            raise RuntimeError("midclose: complete response?")
        except asyncio.IncompleteReadError:
            raise ConnectionResetError("expected: truncated")
    status, fields, got = await read_response(reader)
    if kind == "big":
        if got[:len(expect)] != expect or len(got) != 200_000:
            raise RuntimeError(f"MIXUP big {got[:40]!r} {len(got)}")
        return
    if got != expect:
        raise RuntimeError(f"MIXUP {status} {got[:60]!r} != {expect!r}")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])


async def main():
    bport, port, aport = free_port(), free_port(), free_port()
    server = await asyncio.start_server(backend, HOST, bport, backlog=1024)
    tmp = tempfile.mkdtemp(prefix="a21-")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
    from http_proxy_config import http_config
    cfg = http_config(port, [bport], response_timeout="5s", client_idle="5s")
    cfg += f'\n[admin]\nlisten = "{HOST}:{aport}"\n'
    path = os.path.join(tmp, "r.toml"); open(path, "w").write(cfg)
    env = {**os.environ, "RINGLB_LEVER_RECEIVE_BUFFERS": BUFS}
    proc = subprocess.Popen([BIN, "-c", path], env=env, stdout=open(tmp + "/out", "w"),
                            stderr=open(tmp + "/err", "w"))
    for _ in range(100):
        try:
            socket.create_connection((HOST, port)).close(); break
        except OSError:
            await asyncio.sleep(0.05)
    # NOREAD=N: N connections ask for a 200 KB response (a backend body) and never read it
    idle = []
    for i in range(int(os.environ.get("NOREAD", "0"))):
        r, w = await asyncio.open_connection(HOST, port)
        w.write(req("big", f"noread{i}")); await w.drain(); idle.append(w)
    # HALFIDLE=N: N connections send half a request head and stall
    for i in range(int(os.environ.get("HALFIDLE", "0"))):
        r, w = await asyncio.open_connection(HOST, port)
        w.write(b"GET /ok/x HTTP/1.1\r\nHo"); await w.drain(); idle.append(w)
    await asyncio.sleep(0.5)
    t0 = time.time()
    tasks = [asyncio.create_task(client(port, i)) for i in range(CLIENTS)]
    if SIGNAL == "hup":
        clients = list(tasks)

        async def hup():
            while not all(t.done() for t in clients):
                proc.send_signal(signal.SIGHUP); await asyncio.sleep(0.5)
        tasks.append(asyncio.create_task(hup()))
    if SIGNAL == "term":  # SIGTERM mid-flight: ringlb must exit within its 2 s grace
        await asyncio.sleep(0.3)
        proc.send_signal(signal.SIGTERM); t_term = time.time()
        while proc.poll() is None and time.time() - t_term < 10:
            await asyncio.sleep(0.05)
        print(f"SIGTERM: exited {proc.poll()} after {time.time() - t_term:.2f}s")
        await asyncio.gather(*tasks)
        for k in sorted(stats):
            print(f"  {k}: {stats[k]}")
        return
    await asyncio.gather(*tasks)
    took = time.time() - t0
    await asyncio.sleep(1)
    c0 = cpu_ticks(proc.pid); await asyncio.sleep(3); c1 = cpu_ticks(proc.pid)
    fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
    rss = [l for l in open(f"/proc/{proc.pid}/status") if l.startswith("VmRSS")][0].split()[1]
    print(f"took {took:.1f}s; idle cpu {(c1 - c0) / 3:.0f} ticks/s; fds {fds}; rss {rss} kB; "
          f"alive {proc.poll() is None}")
    for k in sorted(stats):
        print(f"  {k}: {stats[k]}")
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        print("ringlb did not exit on SIGTERM"); proc.kill()
    print("exit", proc.returncode, "logs", tmp)

asyncio.run(main())
