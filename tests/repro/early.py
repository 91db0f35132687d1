#!/usr/bin/env python3
"""A backend that answers before the request body (nginx `return 200` on POST): what does the
client see? Sends head + 200 KB body at once on CONNS connections (threads), reads the response,
reports its Connection header and how the connection ended. Needs a ringlb on PORT."""
import collections, os, socket, sys, threading
PORT = int(sys.argv[1]); CONNS = int(os.environ.get("CONNS", "50"))
body = os.urandom(200_000)
out = collections.Counter()
def one():
    s = socket.create_connection(("127.0.0.1", PORT)); s.settimeout(10)
    try:
        try:
            s.sendall(b"POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + body)
        except OSError as e:
            out[f"send failed: {e}"] += 1  # then read what ringlb sent before the reset
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk: break
            data += chunk
        head = data.split(b"\r\n\r\n")[0].decode("latin1").lower()
        conn = "close" if "connection: close" in head else "keep-alive"
        try:
            rest = s.recv(65536)
            how = "fin" if rest == b"" else "more"
        except socket.timeout:
            how = "open"
        out[f"{head.splitlines()[0] if head else 'no response'} / {conn} / {how}"] += 1
    except Exception as e:
        out[f"error {type(e).__name__}: {e}"] += 1
    finally:
        s.close()
ts = [threading.Thread(target=one) for _ in range(CONNS)]
[t.start() for t in ts]; [t.join() for t in ts]
for k, v in out.most_common(): print(v, k)
