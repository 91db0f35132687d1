# A client's FIN (half-close) with streams in every phase: waiting for a slow backend, mid-upload
# with the last byte held, mid-response. The connection and its streams must end at once, the
# backend connections close, and the gauges come back to 0. TLS=1: over TLS.
from linger_client import *

b = HttpBackend("b1")
p = Proxy([b.port], tls=tls, pool_timeouts={"response": "30s"})
for round_ in range(3):
    c = Raw(p.port)
    c.headers(1, "/delay/3000")
    c.headers(3, "/echo/upload", method="POST", end=False,
              extra=(("content-length", "10"),))
    c.send(frame(0, 0, 3, b"0123456789"))
    c.headers(5, "/drip/100/50")
    t0 = time.monotonic()
    while 5 not in c.data and time.monotonic() - t0 < 3:
        c.read(0.1)
    c.s.shutdown(socket.SHUT_WR)
    while not c.eof and time.monotonic() - t0 < 5:
        c.read(0.1)
    closed_in = time.monotonic() - t0
    gone = wait_metric(p, "ringlb_h2_active_connections", 0, 3)
    time.sleep(0.3)
    open_backend = sum(1 for r in b.conns if not r.closed)
    upload = [r for r in b.requests if r.target == "/echo/upload"]
    result(f"client FIN round {round_}{' TLS' if TLS else ''}: connection ends, streams end, "
           "no complete upload", c.eof and gone is not None and not any(r.complete for r in upload),
           f"eof after {closed_in:.2f}s, active->0 in {gone}, backend conns still open "
           f"{open_backend}, upload complete={[r.complete for r in upload]}")
    c.s.close()
time.sleep(3.5)
p.check("after FINs")
print("log lines:", [l for l in p.log().splitlines() if "stale" in l or "freed" in l][:5])
