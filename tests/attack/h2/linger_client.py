# The raw h2 client of attack_linger.py and attack_drain_slow.py (TLS=1: over TLS, ALPN h2).
import hpack
from common import *

TLS = os.environ.get("TLS") == "1"
ctx = None
tls = None
if TLS:
    from tls_harness import Pki, client_context
    pki = Pki(tempfile.mkdtemp())
    tls = pki.leaf("srv", ["localhost"])
    ctx = client_context(pki, alpn=["h2"])


class Raw:
    """A raw h2 client: frames as given, every frame back parsed, DATA counted per stream."""

    def __init__(self, port, window=None, rcvbuf=None):
        s = connect(port)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if ctx:
            s = ctx.wrap_socket(s, server_hostname="localhost")
        self.s, self.enc, self.buf = s, hpack.Encoder(), b""
        self.data, self.ended, self.rst, self.goaway = {}, set(), {}, None
        self.eof = False
        self.error = None
        self.unacked = 0
        settings = b"" if window is None else (4).to_bytes(2, "big") + window.to_bytes(4, "big")
        out = PREFACE + frame(4, 0, 0, settings)
        if window is not None and window > 65535:
            out += frame(8, 0, 0, (window - 65535).to_bytes(4, "big"))
        self.send(out)

    def send(self, b):
        try:
            self.s.sendall(b)
            return True
        except OSError:
            return False

    def headers(self, sid, path, method="GET", end=True, extra=()):
        block = self.enc.encode(req_headers(path, method, extra=extra))
        return self.send(frame(1, 4 | (1 if end else 0), sid, block))

    def read(self, timeout=0.2, size=1 << 16):
        if self.eof:
            return 0
        self.s.settimeout(timeout)
        try:
            d = self.s.recv(size)
        except socket.timeout:
            return 0
        except (ssl_error(), OSError) as e:
            self.error = repr(e)
            d = b""
        if not d:
            self.eof = True
            return 0
        self.buf += d
        while len(self.buf) >= 9:
            n = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + n:
                break
            t, f, sid, p = frames(self.buf[:9 + n])[0]
            self.buf = self.buf[9 + n:]
            if t == 4 and not f & 1:
                self.send(frame(4, 1, 0))
            if t == 0:
                self.data[sid] = self.data.get(sid, 0) + len(p)
                self.unacked += len(p)
            if t in (0, 1) and f & 1:
                self.ended.add(sid)
            if t == 3:
                self.rst[sid] = int.from_bytes(p[:4], "big")
            if t == 7:
                self.goaway = int.from_bytes(p[4:8], "big")
        return len(d)


def ssl_error():
    import ssl
    return ssl.SSLError


def wait_metric(p, name, value, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        m = p.metrics()
        v = sum(x for k, x in m.items() if k.startswith(name))
        if v == value:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def active(p):
    return sum(v for k, v in p.metrics().items() if k.startswith("ringlb_h2_active_connections"))


