# RST_STREAM in every phase of a stream (before the backend connect, while the body uploads,
# while the response downloads, after the response), with CANCEL and with NO_ERROR; and Rapid
# Reset (HEADERS+RST pairs in one write, 10000 of them): backend connections and requests must
# stay few, and nothing may leak (slots, active counters).
import hpack
from common import *

b = HttpBackend("b1")
# a backend that accepts and never answers: requests hang "before response"
silent = socket.socket()
silent.bind((HOST, 0))
silent.listen(1024)
p = Proxy([b.port], http2={"max_resets_per_second": 100000}, pool_timeouts={"response": "30s"},
          timeouts={"client_idle": "30s"})
P = p.port


def hb(path, method="GET", extra=()):
    return hpack.Encoder().encode(req_headers(path, method, extra=extra))


def rst(sid, code=8):
    return frame(3, 0, sid, code.to_bytes(4, "big"))


def active_streams():
    m = p.metrics()
    return m


def phase(label, code, before, after_wait, path, method="GET", body_first=b"", extra=()):
    s = connect(P)
    flags = 4 if method != "GET" else 5
    s.sendall(PREFACE + frame(4, 0, 0) + frame(1, flags, 1, hb(path, method, extra)) +
              (frame(0, 0, 1, body_first) if body_first else b""))
    time.sleep(before)
    s.sendall(rst(1, code))
    time.sleep(after_wait)
    # the connection must still serve a new stream
    s.sendall(frame(1, 5, 3, hb("/stream/100")))
    out, eof = read_all(s, 2)
    s.close()
    names = frame_names(out)
    ok = "HEADERS[3]" in names and not eof
    return result(f"RST({code}) {label}", ok, names)


for code in (8, 0):
    phase("right after HEADERS (same write-ish)", code, 0.0, 0.3, "/stream/10")
    phase("during upload", code, 0.3, 0.3, "/echo", "POST", b"x" * 1000,
          extra=[("content-length", "100000")])
    phase("waiting on response", code, 0.3, 0.3, "/delay/2000")
    phase("during response (big)", code, 0.3, 0.3, "/stream/50000000")
    phase("after response", code, 0.5, 0.3, "/stream/10")

time.sleep(1)
p.check("after phases")
print("metrics", {k: v for k, v in p.h2_metrics().items() if v})

# RST(NO_ERROR) mid-response: does the stream session leak until a timeout? Open 20 of them on
# one connection with max_concurrent 100, then look at slots via /status? We see it through
# backend connections still open and ringlb's active streams (h2 streams are sessions).
b.reset()
s = connect(P)
s.sendall(PREFACE + frame(4, 0, 0))
for i in range(20):
    sid = 1 + 2 * i
    s.sendall(frame(1, 5, sid, hb("/stream/50000000")))
time.sleep(0.5)
s.sendall(b"".join(rst(1 + 2 * i, 0) for i in range(20)))
time.sleep(1.0)
print("backend conns active after RST(NO_ERROR) x20:", b.active, "connections", b.connections)
s.sendall(frame(6, 0, 0, b"12345678"))
out, eof = read_all(s, 1)
print("conn still open:", not eof)
time.sleep(2)
print("backend conns active 3s later:", b.active)
res = result("RST(NO_ERROR) mid-response frees backend work", b.active == 0,
             f"backend active={b.active}")
s.close()
time.sleep(0.5)
print("after client close, backend active:", b.active)

# Rapid Reset: 10000 HEADERS+RST(CANCEL) pairs in one write, to a slow path
b.reset()
s = connect(P)
s.sendall(PREFACE + frame(4, 0, 0))
enc = hpack.Encoder()
blob = b"".join(frame(1, 5, 1 + 2 * i, enc.encode(req_headers("/delay/1000"))) + rst(1 + 2 * i)
                for i in range(10000))
t0 = time.monotonic()
try:
    s.sendall(blob)
except OSError as e:
    print("send:", e)
out, eof = read_all(s, 3)
names = frame_names(out)
s.close()
time.sleep(1.5)
print(f"rapid reset 10000 pairs: {time.monotonic() - t0:.1f}s, frames back {len(names)}, "
      f"last {names[-3:]}, eof={eof}")
result("rapid reset: few backend requests", b.connections < 200,
       f"backend connections={b.connections} requests={len(b.requests)}")

# Rapid reset spread across writes: each pair in its own write (the HEADERS starts a backend
# connect before the RST arrives), 2000 pairs
b.reset()
s = connect(P)
s.sendall(PREFACE + frame(4, 0, 0))
enc = hpack.Encoder()
t0 = time.monotonic()
try:
    for i in range(2000):
        s.sendall(frame(1, 5, 1 + 2 * i, enc.encode(req_headers("/delay/1000"))))
        s.sendall(rst(1 + 2 * i))
except OSError as e:
    print("send:", e)
out, eof = read_all(s, 3)
s.close()
time.sleep(1.5)
print(f"rapid reset split writes: {time.monotonic() - t0:.1f}s backend connections={b.connections} "
      f"requests={len(b.requests)} last frames {frame_names(out)[-2:]} eof={eof}")

# Rapid reset with default limits (max_resets_per_second 100)
p2 = Proxy([b.port])
b.reset()
s = connect(p2.port)
s.sendall(PREFACE + frame(4, 0, 0))
enc = hpack.Encoder()
blob = b"".join(frame(1, 5, 1 + 2 * i, enc.encode(req_headers("/delay/1000"))) + rst(1 + 2 * i)
                for i in range(10000))
try:
    s.sendall(blob)
except OSError as e:
    print("send:", e)
out, eof = read_all(s, 3)
s.close()
time.sleep(1.5)
print("default limits rapid reset:", frame_names(out)[-2:], "eof", eof, "backend conns", b.connections,
      "requests", len(b.requests))
print("p2 metrics", {k: v for k, v in p2.h2_metrics().items() if v})
p2.check("p2")
p2.stop()

time.sleep(1)
sane(p, "resets")
print("metrics", {k: v for k, v in p.h2_metrics().items() if v})
print("exit", p.stop())
