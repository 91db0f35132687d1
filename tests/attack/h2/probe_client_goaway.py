# The client sends GOAWAY (NO_ERROR) while 5 of its streams are in flight: they must still finish.
from common import *
b = HttpBackend("b1")
p = Proxy([b.port])
s = connect(p.port)
c = client_conn()
for _ in range(5):
    c.send_headers(c.get_next_available_stream_id(), req_headers("/drip/10/100"), end_stream=True)
s.sendall(c.data_to_send())
time.sleep(0.2)
s.sendall(frame(7, 0, 0, (0).to_bytes(4, "big") + (0).to_bytes(4, "big")))
out, eof = read_all(s, 3)
names = frame_names(out)
ends = [n for t, f, sid, pl in frames(out) if t == 0 and f & 1 for n in [sid]]
result("client GOAWAY: in-flight streams finish", len(ends) == 5, f"ended {ends} eof={eof} last={names[-2:]}")
p.check("client goaway")
p.stop()
