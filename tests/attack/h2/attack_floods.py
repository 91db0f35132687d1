# Floods: many connections each with 100 streams (h2load), streams over max_concurrent_streams,
# PING / SETTINGS / empty DATA / PRIORITY / WINDOW_UPDATE floods; after each: alive, no lifetime
# bug, CPU idle, counters sane.
import hpack
from common import *

b = HttpBackend("b1")
p = Proxy([b.port], http2={"max_concurrent_streams": 100}, workers=2)

# 1. h2load: 50 connections x 100 concurrent streams, 20000 requests
out = subprocess.run(["h2load", "-n", "20000", "-c", "50", "-m", "100", "-t", "1",
                      f"http://{HOST}:{p.port}/stream/1000"], capture_output=True, text=True,
                     timeout=120)
lines = [l for l in out.stdout.splitlines() if l.startswith(("requests:", "status codes:", "finished in"))]
print("\n".join(lines))
result("h2load 50x100", "20000 succeeded" in out.stdout, lines[1] if len(lines) > 1 else out.stdout[-300:])
time.sleep(1)
p.check("after h2load")
print({k: v for k, v in p.h2_metrics().items() if v})

# 2. streams over max_concurrent_streams, ignoring the SETTINGS (before reading them)
s = connect(p.port)
enc = hpack.Encoder()
blob = PREFACE + frame(4, 0, 0)
for i in range(300):
    blob += frame(1, 5, 1 + 2 * i, enc.encode(req_headers("/delay/500")))
s.sendall(blob)
out, eof = read_all(s, 3)
names = frame_names(out)
refused = sum(1 for n in names if n.startswith("RST") and "err=7" in n)
headers = sum(1 for n in names if n.startswith("HEADERS"))
goaway = [n for n in names if n.startswith("GOAWAY")]
s.close()
result("300 streams with max 100", headers == 100 and refused == 200 or bool(goaway),
       f"answered={headers} refused={refused} goaway={goaway} eof={eof}")

# 3. control floods: 10000 PINGs, 10000 SETTINGS, 10000 empty DATA, 10000 WINDOW_UPDATE(1),
#    100000 PRIORITY; each on its own connection, in one write
def flood(label, payload, expect_goaway=True):
    s = connect(p.port)
    t0 = time.monotonic()
    try:
        s.sendall(PREFACE + frame(4, 0, 0) + payload)
    except OSError as e:
        print("  send:", e)
    out, eof = read_all(s, 2)
    s.close()
    names = frame_names(out)
    ga = [n for n in names if n.startswith("GOAWAY")]
    result(f"flood {label}", bool(ga) == expect_goaway, f"goaway={ga} frames={len(names)} "
           f"eof={eof} {time.monotonic() - t0:.1f}s")

flood("PING x10000", frame(6, 0, 0, b"12345678") * 10000)
flood("SETTINGS x10000", frame(4, 0, 0) * 10000)
flood("empty DATA x10000", frame(1, 4, 1, hpack.Encoder().encode(req_headers("/echo", "POST"))) +
      frame(0, 0, 1) * 10000)
flood("WINDOW_UPDATE(1) x100000", frame(8, 0, 0, (1).to_bytes(4, "big")) * 100000, expect_goaway=False)
flood("PRIORITY self-dependency", frame(2, 0, 1, (1).to_bytes(4, "big") + b"\x10"))
flood("PRIORITY x100000 idle", b"".join(frame(2, 0, 1 + 2 * i, (0).to_bytes(4, "big") + b"\x10")
                                        for i in range(100000)), expect_goaway=False)
flood("PRIORITY x100000 same stream", frame(2, 0, 3, (0).to_bytes(4, "big") + b"\x10") * 100000,
      expect_goaway=False)
flood("unknown frames x100000", frame(0xEE, 0, 0, b"x") * 100000, expect_goaway=False)
flood("SETTINGS ACK x10000 (unsolicited)", frame(4, 1, 0) * 10000, expect_goaway=False)
flood("PING ACK x10000 (unsolicited)", frame(6, 1, 0, b"12345678") * 10000, expect_goaway=False)

# 4. PING flood while never reading (outbound ack queue)
s = connect(p.port)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(PREFACE + frame(4, 0, 0))
t0 = time.monotonic()
sent = 0
s.settimeout(0.5)
try:
    while time.monotonic() - t0 < 12:
        s.sendall(frame(6, 0, 0, b"12345678") * 15)  # 15/s-ish bursts under the 100/s bucket
        sent += 15
        time.sleep(0.1)
except OSError as e:
    print("  ping-no-read stopped:", e)
print(f"  sent {sent} PINGs without reading; rss {p.rss_kib()} KiB")
s.close()

# 5. HEADERS for refused streams while never reading (RST_STREAM queue growth)
s = connect(p.port)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
enc = hpack.Encoder()
s.sendall(PREFACE + frame(4, 0, 0, (4).to_bytes(2, "big") + (0).to_bytes(4, "big")))
r0 = p.rss_kib()
sid = 1
s.settimeout(2)
try:
    for burst in range(200):
        blob = b"".join(frame(1, 5, sid + 2 * i, enc.encode(req_headers("/stream/100000")))
                        for i in range(500))
        sid += 1000
        s.sendall(blob)
except OSError as e:
    print("  refused-no-read stopped:", e, "at stream", sid)
print(f"  rss before {r0} KiB after {p.rss_kib()} KiB, streams sent up to {sid}")
s.close()
time.sleep(1)
p.check("after floods")
print({k: v for k, v in p.h2_metrics().items() if v})
sane(p, "floods")
p.stop()
