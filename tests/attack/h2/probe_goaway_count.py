# Counters: 10 connections each get GOAWAY(PROTOCOL_ERROR) for a WINDOW_UPDATE of 0 on the
# connection; 10 more get GOAWAY(FLOW_CONTROL_ERROR) for a window overflow; 5 are closed for a
# CONTINUATION flood. What do h2_goaway_sent_total{reason="protocol"} and friends say?
from common import *
b = HttpBackend("b1")
p = Proxy([b.port])
seen = 0
for i in range(10):
    s = connect(p.port)
    s.sendall(PREFACE + frame(4, 0, 0) + frame(8, 0, 0, (0).to_bytes(4, "big")))
    out, eof = read_all(s, 1)
    seen += sum(1 for n in frame_names(out) if n.startswith("GOAWAY"))
    s.close()
for i in range(10):
    s = connect(p.port)
    big = (0x7FFFFFFF).to_bytes(4, "big")
    s.sendall(PREFACE + frame(4, 0, 0) + frame(8, 0, 0, big) * 2)
    out, eof = read_all(s, 1)
    seen += sum(1 for n in frame_names(out) if n.startswith("GOAWAY"))
    s.close()
sent_cont = 0
for i in range(5):
    s = connect(p.port)
    s.sendall(PREFACE + frame(4, 0, 0) + frame(1, 1, 1, b"\x82") + frame(9, 0, 1, b"") * 20)
    out, eof = read_all(s, 1)
    sent_cont += sum(1 for n in frame_names(out) if n.startswith("GOAWAY"))
    s.close()
time.sleep(0.3)
m = {k.split(",")[-1]: v for k, v in p.h2_metrics().items() if "goaway" in k}
print(f"GOAWAYs the clients saw: {seen} for protocol errors, {sent_cont} for CONTINUATION floods")
print("metrics:", m)
p.stop()
