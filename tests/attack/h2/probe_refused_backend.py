# Every backend refuses the connect: each of 20 h2 streams sent at once must get a 503.
from common import *
import collections
port = free_port()  # nothing listens
p = Proxy([port])
s = connect(p.port)
c = client_conn()
for i in range(20):
    c.send_headers(c.get_next_available_stream_id(), req_headers("/x"), end_stream=True)
s.sendall(c.data_to_send())
evs = pump(s, c, lambda e: sum(isinstance(x, (h2.events.StreamEnded, h2.events.StreamReset)) for x in e) >= 20 or "EOF" in e, timeout=30)
print(collections.Counter(type(e).__name__ if not isinstance(e, str) else e for e in evs))
print([dict(e.headers).get(":status") for e in evs if isinstance(e, h2.events.ResponseReceived)])
p.stop()
