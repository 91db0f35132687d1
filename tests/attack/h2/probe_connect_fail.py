# Every backend connect times out: each h2 stream must get a 503 (not a reset).
from common import *
import collections
l = socket.socket(); l.bind((HOST, 0)); l.listen(0)
fill = []
for _ in range(4):  # fill the backlog
    try:
        fill.append(socket.create_connection((HOST, l.getsockname()[1]), timeout=0.3))
    except OSError:
        pass
p = Proxy([l.getsockname()[1]], access="/tmp/h2attack_access.log")
s = connect(p.port)
c = client_conn()
for i in range(20):
    c.send_headers(c.get_next_available_stream_id(), req_headers("/x"), end_stream=True)
s.sendall(c.data_to_send())
evs = pump(s, c, lambda e: sum(isinstance(x, (h2.events.StreamEnded, h2.events.StreamReset)) for x in e) >= 20 or "EOF" in e, timeout=30)
print(collections.Counter(type(e).__name__ if not isinstance(e, str) else e for e in evs))
print([ (e.stream_id, e.error_code) for e in evs if isinstance(e, h2.events.StreamReset)][:5])
print([dict(e.headers).get(":status") for e in evs if isinstance(e, h2.events.ResponseReceived)][:20])
time.sleep(0.5)
print(collections.Counter(l.split("]", 1)[1][:100] for l in p.log().splitlines() if "[w" in l).most_common(6))
p.stop()
