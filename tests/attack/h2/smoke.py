# Smoke: one h2c GET through ringlb, and curl --http2-prior-knowledge.
from common import *

b = HttpBackend("b1")
p = Proxy([b.port])
s = connect(p.port)
c = client_conn()
sid = c.get_next_available_stream_id()
c.send_headers(sid, req_headers("/stream/100000"), end_stream=True)
s.sendall(c.data_to_send())
evs = pump(s, c, lambda e: any(isinstance(x, h2.events.StreamEnded) for x in e))
body = b"".join(e.data for e in evs if isinstance(e, h2.events.DataReceived))
print(summarize(evs), len(body))
out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", f"http://{HOST}:{p.port}/echo", "-d", "hello"], capture_output=True, text=True)
print(out.stdout[:300])
print(p.h2_metrics())
p.check("smoke")
print(p.stop())
