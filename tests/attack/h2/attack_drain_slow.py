# Drains (SIGHUP, then SIGTERM) with many h2 connections: some mid-response with slow readers
# (small receive buffer, reading a little at a time and sending WINDOW_UPDATE as they go, as
# nghttp2-based clients do), some idle. Every slow reader must get its whole body and END_STREAM,
# the process must exit promptly, and gauges must come back to 0.
# SIZE (bytes per response), WINDOW (client's stream/connection window), RATE (bytes/s per
# reader), SIGNAL (HUP or TERM), TLS=1.
import threading
from linger_client import *

b = HttpBackend("b1")
p = Proxy([b.port], tls=tls, grace=os.environ.get("GRACE", "8s"), pool_timeouts={"response": "30s"})

SIZE = int(os.environ.get("SIZE", 2_000_000))
WINDOW = int(os.environ.get("WINDOW", 65535))
RATE = int(os.environ.get("RATE", 400_000))
SIG = os.environ.get("SIGNAL", "TERM")
N = int(os.environ.get("N", 8))
RCVBUF = int(os.environ.get("RCVBUF", 65536))


def slow_reader(out, i):
    c = Raw(p.port, window=WINDOW, rcvbuf=RCVBUF)
    c.headers(1, f"/stream/{SIZE}")
    chunk = max(1024, RATE // 20)
    t0 = time.monotonic()
    while not c.eof and 1 not in c.ended and time.monotonic() - t0 < 30:
        c.read(0.2, chunk)
        if c.unacked >= min(WINDOW // 2, 32768):  # nghttp2 acks half a window
            c.send(frame(8, 0, 0, c.unacked.to_bytes(4, "big")) +
                   (frame(8, 0, 1, c.unacked.to_bytes(4, "big")) if 1 not in c.ended else b""))
            c.unacked = 0
        time.sleep(0.05)
    # after END_STREAM a client still acks the connection window, then reads until EOF
    if c.unacked:
        c.send(frame(8, 0, 0, c.unacked.to_bytes(4, "big")))
    while not c.eof and time.monotonic() - t0 < 30:
        c.read(0.2)
    out[i] = (c.data.get(1, 0), 1 in c.ended, c.rst.get(1), c.goaway, c.error or c.eof,
              round(time.monotonic() - t0, 2))
    c.s.close()


outs = [None] * N
threads = [threading.Thread(target=slow_reader, args=(outs, i)) for i in range(N)]
for t in threads:
    t.start()
idle = [Raw(p.port) for _ in range(20)]
time.sleep(1.0)
t_sig = time.monotonic()
p.proc.send_signal(signal.SIGHUP if SIG == "HUP" else signal.SIGTERM)
for t in threads:
    t.join(40)
whole = [o for o in outs if o and o[0] == SIZE and o[1]]
result(f"drain {SIG}{' TLS' if TLS else ''}: every slow reader gets {SIZE} B + END_STREAM "
       f"(window {WINDOW})", len(whole) == N, f"{len(whole)}/{N}: {outs}")
for c in idle:
    t1 = time.monotonic()
    while not c.eof and time.monotonic() - t1 < 2:
        c.read(0.2)
idle_eof = sum(1 for c in idle if c.eof)
result("idle connections ended by the drain", idle_eof == len(idle), f"{idle_eof}/{len(idle)}")
if SIG == "TERM":
    try:
        p.proc.wait(15)
    except subprocess.TimeoutExpired:
        pass
    rc = p.proc.poll()
    result("process exits after the last stream", rc == 0,
           f"rc={rc} exit {time.monotonic() - t_sig:.2f} s after SIGTERM")
else:
    print("active after drain:", active(p))
    p.check("after HUP drain")
    p.stop()
print("lifetime bugs:", p.lifetime_bugs())
