# TLS HTTP/1.1 client that vanishes mid-response: does its exchange come back marked sending?
import ssl, sys
from common import *
from tls_harness import Pki, client_context
d = tempfile.mkdtemp()
pki = Pki(d)
cert, key = pki.leaf("srv", ["localhost"])
b = HttpBackend("b1")
p = Proxy([b.port], tls=(cert, key), access="/tmp/h2attack_access.log")
ctx = client_context(pki, alpn=["http/1.1"])
for i in range(3):
    raw = connect(p.port)
    t = ctx.wrap_socket(raw, server_hostname="localhost")
    t.sendall(b"GET /stream/50000000 HTTP/1.1\r\nHost: x\r\n\r\n")
    t.recv(1000)
    time.sleep(0.5)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    t.close()
time.sleep(0.5)
conns = []
for _ in range(6):
    t = ctx.wrap_socket(connect(p.port), server_hostname="localhost")
    t.sendall(b"GET /stream/100 HTTP/1.1\r\nHost: x\r\n\r\n")
    conns.append(t)
for c in conns:
    c.settimeout(2)
    try:
        print(c.recv(100)[:15])
    except Exception as e:
        print("ERR", e)
print(p.lifetime_bugs())
p.stop()
