import hpack, sys
from common import *
b = HttpBackend("b1")
p = Proxy([b.port], access="/tmp/h2attack_access.log")
def hb(path, method="GET", extra=()):
    return hpack.Encoder().encode(req_headers(path, method, extra=extra))
s = connect(p.port)
s.sendall(PREFACE + frame(4, 0, 0) + frame(1, 5, 1, hb("/stream/50000000")))
if sys.argv[1] == "read":
    out, eof = read_all(s, 0.5)
else:
    time.sleep(0.5)
s.sendall(frame(3, 0, 1, (8).to_bytes(4, "big")))
time.sleep(0.3)
if sys.argv[2] == "same":
    s.sendall(frame(1, 5, 3, hb("/stream/100")))
    out, eof = read_all(s, 2)
    print(frame_names(out)[-3:])
s.close()
time.sleep(0.3)
conns = [connect(p.port) for _ in range(4)]
for c in conns:
    c.sendall(b"GET /stream/100 HTTP/1.1\r\nHost: x\r\n\r\n")
for c in conns:
    out, eof = read_all(c, 1)
    print(out[:15], len(out))
p.stop()
