# Clients that vanish (TCP RST) with streams in every phase: connecting, uploading, waiting,
# downloading, stalled on the window; over plain h2c and over TLS (ALPN h2). Then a reload and
# a SIGTERM with such connections open. Meant for the ASan build: any lifetime bug shows in the
# log ("stale completion", "timer for freed slot", AddressSanitizer).
import ssl
import hpack
from common import *
from tls_harness import Pki, client_context

ROUNDS = int(os.environ.get("ROUNDS", "20"))
b = HttpBackend("b1")
dead = free_port()
d = tempfile.mkdtemp()
pki = Pki(d)
cert, key = pki.leaf("srv", ["localhost"])
p = Proxy([b.port], tls=(cert, key) if os.environ.get("TLS") else None, grace="3s",
          pool_timeouts={"response": "5s", "connect": "1s"})
ctx = client_context(pki, alpn=["h2"])


def open_conn():
    raw = connect(p.port)
    if os.environ.get("TLS"):
        t = ctx.wrap_socket(raw, server_hostname="localhost")
        assert t.selected_alpn_protocol() == "h2", t.selected_alpn_protocol()
        return t
    return raw


def mixed(s):
    enc = hpack.Encoder()
    blob = PREFACE + frame(4, 0, 0)
    sid = 1
    for path, method, body in [("/stream/50000000", "GET", None), ("/delay/3000", "GET", None),
                               ("/echo", "POST", b"x" * 30000), ("/drip/50/20", "GET", None),
                               ("/chunked/3000000", "GET", None), ("/stream/10", "GET", None),
                               ("/echo", "POST", b"")]:
        for _ in range(5):
            extra = [("content-length", "10000000")] if method == "POST" and body else []
            blob += frame(1, 4 if body is not None else 5, sid,
                          enc.encode(req_headers(path, method, extra=extra)))
            if body:
                blob += frame(0, 0, sid, body[:16384]) + frame(0, 0, sid, body[16384:])
            elif body is not None:
                blob += frame(0, 1, sid, b"")
            sid += 2
    s.sendall(blob)


def rst_close(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    s.close()


for r in range(ROUNDS):
    conns = [open_conn() for _ in range(5)]
    for s in conns:
        mixed(s)
    time.sleep(0.05 * (r % 6))  # the vanishing lands in a different phase each round
    for i, s in enumerate(conns):
        if i % 2:
            rst_close(s)
        else:
            s.close()
time.sleep(1)
res = p.check("after vanishing clients")
result("vanishing clients", res["alive"] and not res["bugs"], str(res["bugs"][:2]))

# reload and SIGTERM with such connections open
conns = [open_conn() for _ in range(5)]
for s in conns:
    mixed(s)
time.sleep(0.3)
p.write_config(tls=(cert, key) if os.environ.get("TLS") else None, grace="3s",
               http2={"max_concurrent_streams": 7})
p.proc.send_signal(signal.SIGHUP)
time.sleep(0.5)
more = [open_conn() for _ in range(3)]
for s in more:
    mixed(s)
time.sleep(0.3)
p.proc.send_signal(signal.SIGTERM)
try:
    rc = p.proc.wait(10)
except subprocess.TimeoutExpired:
    rc = "hung"
    p.proc.kill()
bugs = p.lifetime_bugs()
result("reload+SIGTERM with busy h2 connections", rc == 0 and not bugs, f"rc={rc} bugs={bugs[:3]}")
for s in conns + more:
    s.close()
if bugs or rc != 0:
    print(p.log()[-3000:])
