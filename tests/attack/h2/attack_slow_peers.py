# Peers that never read. (1) h2 clients that open huge windows then never read the socket while
# 100 streams each download 50 MB: ringlb's RSS must stay bounded. (2) A backend that never
# reads a large upload on one stream: other streams on the same connection keep flowing.
import hpack
from common import *

b = HttpBackend("b1")
p = Proxy([b.port], pool_timeouts={"response": "60s"}, timeouts={"client_idle": "60s"})
# warm up
for _ in range(3):
    h2_get(p.port, "/stream/1000000")
base = p.rss_kib()
socks = []
for c in range(5):
    s = connect(p.port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    enc = hpack.Encoder()
    blob = PREFACE + frame(4, 0, 0, (4).to_bytes(2, "big") + (0x7FFFFFFF).to_bytes(4, "big")) + \
        frame(8, 0, 0, (0x7FFFFFFF - 65535).to_bytes(4, "big"))
    for i in range(100):
        blob += frame(1, 5, 1 + 2 * i, enc.encode(req_headers("/stream/50000000")))
    s.sendall(blob)
    socks.append(s)
peak = 0
for t in range(10):
    time.sleep(0.5)
    peak = max(peak, p.rss_kib())
print(f"RSS base {base} KiB, peak with 5x100 stalled 50MB streams {peak} KiB "
      f"(+{(peak - base) / 1024:.1f} MiB); backend conns active {b.active}; cpu {p.idle_cpu(1):.2f}")
result("non-reading client: RSS bounded", peak - base < 200 * 1024, f"+{(peak - base)/1024:.1f} MiB")
for s in socks:
    s.close()
time.sleep(1)
print("after close: backend active", b.active, "rss", p.rss_kib())
p.check("after non-readers")

# (2) a backend that never reads: a raw backend accepting and sleeping
class Sink:
    def __init__(self):
        self.l = socket.socket()
        self.l.bind((HOST, 0))
        self.l.listen(64)
        self.port = self.l.getsockname()[1]
        self.conns = []
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            c, _ = self.l.accept()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            self.conns.append(c)

import threading
sink = Sink()
p2 = Proxy([sink.port, b.port], pool_timeouts={"response": "60s"}, timeouts={"client_idle": "60s"})
# round robin: stream 1 goes to sink (first backend), streams after alternate; we just check that
# the /stream streams that land on b finish while stream 1's upload is stuck.
s = connect(p2.port)
c = client_conn()
c.send_headers(1, req_headers("/upload", "POST", extra=[("content-length", str(100 << 20))]))
s.sendall(c.data_to_send())
sent = 0
s.settimeout(0.2)
stall_deadline = time.monotonic() + 3
chunk = b"u" * 16384
while time.monotonic() < stall_deadline:
    win = min(c.local_flow_control_window(1), c.max_outbound_frame_size)
    if win > 0:
        n = min(win, len(chunk))
        c.send_data(1, chunk[:n])
        sent += n
        s.sendall(c.data_to_send())
    try:
        data = s.recv(65536)
        for e in c.receive_data(data):
            pass
        s.sendall(c.data_to_send())
    except socket.timeout:
        pass
print(f"upload stalled after {sent} bytes (window {c.local_flow_control_window(1)})")
# now other streams on the same connection
done = {}
ids = []
for i in range(6):
    sid = c.get_next_available_stream_id()
    ids.append(sid)
    c.send_headers(sid, req_headers("/stream/200000"), end_stream=True)
s.sendall(c.data_to_send())
got = {i: 0 for i in ids}
ended = set()
deadline = time.monotonic() + 8
while time.monotonic() < deadline and len(ended) < 6:
    try:
        data = s.recv(65536)
    except socket.timeout:
        continue
    if not data:
        break
    for e in c.receive_data(data):
        if isinstance(e, h2.events.DataReceived):
            got[e.stream_id] += len(e.data)
            c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        if isinstance(e, h2.events.StreamEnded):
            ended.add(e.stream_id)
        if isinstance(e, h2.events.StreamReset):
            ended.add(e.stream_id)
            print("reset", e.stream_id, e.error_code)
    s.sendall(c.data_to_send())
# streams may land on the sink too (round robin): those hang; count the ones that finished
print("per-stream bytes:", got, "ended:", sorted(ended))
result("stalled upload does not block other streams", len(ended) >= 3, f"{len(ended)} of 6 ended")
s.close()
p2.check("after stuck upload")
p2.stop()
sane(p, "slow peers")
p.stop()
