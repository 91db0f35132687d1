# The lingering close (a graceful end shuts the write side, reads late frames, closes on the
# client's EOF or after 1 s), a client's FIN, and the held last byte of a content-length body.
#  1. after a drain's GOAWAY the client keeps sending PING / WINDOW_UPDATE / HEADERS / garbage
#     for 2 s: the connection ends ~1 s after its last frame, CPU stays idle
#  2. after the client's own GOAWAY it opens a new stream during the linger: the backend must
#     not get that request (its answer can no longer be written)
#  3. a client that never closes during the linger: gone after ~1 s
#  4. request bodies with content-length: END_STREAM late / in an empty DATA / in trailers /
#     never + RST / RST right after the last byte / one byte too many; content-length: 0 with
#     a late END_STREAM
#  5. slow readers with big windows that keep sending WINDOW_UPDATE during a drain
# TLS=1 runs 1, 3 and 5 over TLS (ALPN h2).
from linger_client import *

b = HttpBackend("b1")
p = Proxy([b.port], tls=tls, grace="8s", pool_timeouts={"response": "30s"})

# ---- 1. frames during the linger after a drain ----
for kind in ("ping", "window_update", "headers", "garbage", "settings"):
    c = Raw(p.port)
    c.headers(1, "/stream/100")
    t0 = time.monotonic()
    while 1 not in c.ended and time.monotonic() - t0 < 5:
        c.read()
    p.proc.send_signal(signal.SIGHUP)
    while c.goaway is None and not c.eof and time.monotonic() - t0 < 5:
        c.read()
    tg = time.monotonic()
    cpu0 = p.cpu_ticks()
    sid, sent, send_fail = 3, 0, None
    while time.monotonic() - tg < 2:  # a frame every 40 ms for 2 s: each extends the linger
        if kind == "ping":
            ok = c.send(frame(6, 0, 0, b"12345678"))
        elif kind == "window_update":
            ok = c.send(frame(8, 0, 0, (1).to_bytes(4, "big")))
        elif kind == "headers":
            ok = c.headers(sid, "/echo/late")
            sid += 2
        elif kind == "settings":
            ok = c.send(frame(4, 0, 0, b""))
        else:
            ok = c.send(os.urandom(64))
        if not ok:
            send_fail = time.monotonic() - tg
            break
        sent += 1
        c.read(0.02)
        time.sleep(0.02)
    t_last = time.monotonic()
    cpu = (p.cpu_ticks() - cpu0) / os.sysconf("SC_CLK_TCK")
    gone = wait_metric(p, "ringlb_h2_active_connections", 0, 5)
    late = [r for r in b.requests if r.target.startswith("/echo/late")]
    # ~1 s after the client's last frame (kH2Linger), not while it still sends (under the 30 s
    # cap); nghttp2 ignores what comes after a GOAWAY with no stream left, garbage included
    ok_time = send_fail is None and gone is not None and gone < 1.6
    result(f"1 linger+{kind}{' TLS' if TLS else ''}: closed ~1 s after the last frame, idle "
           "CPU, no late request", ok_time and cpu < 0.5 and not late,
           f"goaway={c.goaway} eof={c.eof} send failed at {send_fail} after {sent} writes, "
           f"cpu={cpu:.2f}s, active->0 {gone} s after the last frame, late requests {len(late)}")
    c.s.close()

# ---- 2. the client's GOAWAY, then a new stream during the linger ----
b.reset()
c = Raw(p.port)
c.headers(1, "/stream/100")
t0 = time.monotonic()
while 1 not in c.ended and time.monotonic() - t0 < 5:
    c.read()
c.send(frame(7, 0, 0, (1).to_bytes(4, "big") + (0).to_bytes(4, "big")))
time.sleep(0.1)
c.read(0.1)
c.headers(3, "/echo/after-client-goaway", method="POST", end=True)
time.sleep(0.5)
for _ in range(5):
    c.read(0.1)
late = [r for r in b.requests if r.target.startswith("/echo/after-client-goaway")]
result("2 client GOAWAY then a new stream during the linger: backend not reached",
       not late, f"backend got {len(late)}; client saw eof={c.eof} data={c.data} rst={c.rst}")
c.s.close()

# ---- 3. a client that never closes ----
c = Raw(p.port)
c.headers(1, "/stream/100")
t0 = time.monotonic()
while 1 not in c.ended and time.monotonic() - t0 < 5:
    c.read()
p.proc.send_signal(signal.SIGHUP)
gone = wait_metric(p, "ringlb_h2_active_connections", 0, 5)
result(f"3 silent client during the linger{' TLS' if TLS else ''}: closed in ~1 s",
       gone is not None and gone < 1.6, f"active->0 in {gone}")
c.s.close()

p.check("after 1-3")

# ---- 4. a client that never stops sending during the linger: the 30 s cap ----
if os.environ.get("CAP") == "1":
    c = Raw(p.port)
    c.headers(1, "/stream/100")
    t0 = time.monotonic()
    while 1 not in c.ended and time.monotonic() - t0 < 5:
        c.read()
    p.proc.send_signal(signal.SIGHUP)
    tg = time.monotonic()
    fail_at = None
    while time.monotonic() - tg < 40:
        if not c.send(frame(6, 0, 0, b"12345678")):
            fail_at = time.monotonic() - tg
            break
        c.read(0.1)
        time.sleep(0.2)
    result("4 a client pinging through the linger is closed at the 30 s cap",
           fail_at is not None and 29 < fail_at < 32, f"closed after {fail_at}")
    c.s.close()
    p.check("after 4")
