# Bytes at the wrong time: odd preface splits, HEADERS split mid-frame, DATA after END_STREAM,
# frames on closed and idle streams, WINDOW_UPDATE 0 and overflow, bad SETTINGS, PRIORITY
# storms, CONTINUATION floods, HPACK bombs. Each prints what ringlb sent back; after each, a
# fresh GET must still work and no lifetime bug may be logged.
import hpack
from common import *

b = HttpBackend("b1")
p = Proxy([b.port])
enc = hpack.Encoder()


def headers_block(path="/", extra=()):
    return hpack.Encoder().encode(req_headers(path, extra=extra))


SETTINGS_EMPTY = frame(4, 0, 0)


def raw_session(payload_chunks, delay=0.0, wait=1.5):
    s = connect(p.port)
    for chunk in payload_chunks:
        s.sendall(chunk)
        if delay:
            time.sleep(delay)
    out, eof = read_all(s, wait)
    s.close()
    return frame_names(out), eof, out


# 1. preface split at every byte, one byte per write
s = connect(p.port)
for ch in PREFACE + SETTINGS_EMPTY + frame(1, 5, 1, headers_block("/stream/10")):
    s.sendall(bytes([ch]))
    time.sleep(0.002)
out, eof = read_all(s, 1.5)
names = frame_names(out)
result("preface byte-by-byte", "HEADERS[1]" in names and "DATA[1]" in names, names)
s.close()

# 2. preface split inside "PRI *" then a pause longer than nothing, then the rest
names, eof, _ = raw_session([PREFACE[:3], PREFACE[3:17], PREFACE[17:] + SETTINGS_EMPTY +
                             frame(1, 5, 1, headers_block("/stream/10"))], delay=0.3)
result("preface 3/14/rest with pauses", "HEADERS[1]" in names, names)

# 3. an almost-preface (wrong last byte): HTTP/1 path must answer sanely, no crash
names, eof, out = raw_session([PREFACE[:-1] + b"X"])
result("bad preface last byte", True, out[:80])

# 4. HEADERS split mid-frame-header and mid-payload across writes with pauses
blk = frame(1, 5, 1, headers_block("/stream/10"))
names, eof, _ = raw_session([PREFACE + SETTINGS_EMPTY + blk[:4], blk[4:11], blk[11:]], delay=0.2)
result("HEADERS split mid-frame", "HEADERS[1]" in names, names)

# 5. DATA after END_STREAM
names, eof, _ = raw_session([PREFACE + SETTINGS_EMPTY + frame(1, 5, 1, headers_block("/delay/300")) +
                             frame(0, 0, 1, b"late data")], wait=2)
result("DATA after END_STREAM", any(n.startswith("RST[1]") or n.startswith("GOAWAY") for n in names), names)

# 6. frames on an idle stream (DATA on stream 7 never opened), WINDOW_UPDATE on idle, RST on idle
for label, f in [("DATA on idle", frame(0, 1, 7, b"x")),
                 ("WINDOW_UPDATE on idle", frame(8, 0, 7, (100).to_bytes(4, "big"))),
                 ("RST on idle", frame(3, 0, 7, (8).to_bytes(4, "big"))),
                 ("CONTINUATION without HEADERS", frame(9, 4, 1, b"\x82")),
                 ("HEADERS on even id", frame(1, 5, 2, headers_block("/"))),
                 ("HEADERS on stream 0", frame(1, 5, 0, headers_block("/"))),
                 ("PUSH_PROMISE from client", frame(5, 4, 1, b"\x00\x00\x00\x02\x82")),
                 ("unknown frame type", frame(0xEE, 0, 1, b"hello")),
                 ("SETTINGS on stream 1", frame(4, 0, 1)),
                 ("PING wrong size", frame(6, 0, 0, b"123")),
                 ("GOAWAY from client", frame(7, 0, 0, (0).to_bytes(8, "big")))]:
    names, eof, _ = raw_session([PREFACE + SETTINGS_EMPTY + f])
    result(label, True, f"{names} eof={eof}")

# 7. frames on a closed stream: complete request 1, then DATA/HEADERS/WU/RST on 1
for label, f in [("DATA on closed", frame(0, 1, 1, b"x")),
                 ("HEADERS on closed", frame(1, 5, 1, headers_block("/"))),
                 ("WU on closed", frame(8, 0, 1, (100).to_bytes(4, "big"))),
                 ("RST on closed", frame(3, 0, 1, (0).to_bytes(4, "big"))),
                 ("PRIORITY on closed", frame(2, 0, 1, (0).to_bytes(4, "big") + b"\x10"))]:
    s = connect(p.port)
    s.sendall(PREFACE + SETTINGS_EMPTY + frame(1, 5, 1, headers_block("/stream/10")))
    out1, _ = read_all(s, 0.7)
    s.sendall(f + frame(1, 5, 3, headers_block("/stream/20")))
    out2, eof = read_all(s, 1.0)
    s.close()
    result(label, True, f"{frame_names(out2)} eof={eof}")

# 8. WINDOW_UPDATE 0 on connection and on a stream
names, eof, _ = raw_session([PREFACE + SETTINGS_EMPTY + frame(8, 0, 0, (0).to_bytes(4, "big"))])
result("WU 0 on connection", any(n.startswith("GOAWAY") for n in names), names)
names, eof, _ = raw_session([PREFACE + SETTINGS_EMPTY + frame(1, 4, 1, headers_block("/delay/300")) +
                             frame(8, 0, 1, (0).to_bytes(4, "big"))], wait=2)
result("WU 0 on stream", any(n.startswith("RST[1]") or n.startswith("GOAWAY") for n in names), names)

# 9. WINDOW_UPDATE overflow: connection and stream
big = (0x7FFFFFFF).to_bytes(4, "big")
names, eof, _ = raw_session([PREFACE + SETTINGS_EMPTY + frame(8, 0, 0, big) + frame(8, 0, 0, big)])
result("WU overflow on connection", any("GOAWAY" in n and "err=3" in n for n in names), names)
names, eof, _ = raw_session([PREFACE + SETTINGS_EMPTY + frame(1, 4, 1, headers_block("/delay/300")) +
                             frame(8, 0, 1, big)], wait=2)
result("WU overflow on stream", any(n.startswith("RST[1]") for n in names), names)

# 10. SETTINGS with bad values
def setting(ident, value):
    return ident.to_bytes(2, "big") + value.to_bytes(4, "big")

for label, payload in [("ENABLE_PUSH=2", setting(2, 2)),
                       ("INITIAL_WINDOW 2^31", setting(4, 1 << 31)),
                       ("MAX_FRAME_SIZE 100", setting(5, 100)),
                       ("MAX_FRAME_SIZE 2^24", setting(5, 1 << 24)),
                       ("HEADER_TABLE_SIZE 2^32-1", setting(1, 0xFFFFFFFF)),
                       ("unknown id", setting(0x99, 5)),
                       ("length 5", b"\x00\x04\x00\x00\x10"),
                       ("ACK with payload", None),
                       ("MAX_CONCURRENT 0", setting(3, 0)),
                       ("33 entries", setting(0x99, 1) * 33)]:
    f = frame(4, 1, 0, setting(4, 1)) if payload is None else frame(4, 0, 0, payload)
    names, eof, _ = raw_session([PREFACE + f + frame(1, 5, 1, headers_block("/stream/10"))])
    result(f"SETTINGS {label}", True, f"{names} eof={eof}")

# 11. INITIAL_WINDOW_SIZE change mid-stream that makes stream windows negative, then big WU
s = connect(p.port)
s.sendall(PREFACE + frame(4, 0, 0, setting(4, 1000)) + frame(1, 5, 1, headers_block("/stream/200000")))
time.sleep(0.5)
s.sendall(frame(4, 0, 0, setting(4, 0)))  # window now negative-ish
time.sleep(0.3)
s.sendall(frame(4, 0, 0, setting(4, 1 << 20)) + frame(8, 0, 0, (1 << 24).to_bytes(4, "big")))
out, eof = read_all(s, 2)
got = sum(len(pl) for t, f, sid, pl in frames(out[0:]) if t == 0 and sid == 1)
s.close()
result("INITIAL_WINDOW shrink to 0 and back", True, f"data bytes {got} (frames after preface) eof={eof}")

# 12. PRIORITY storm: 100k PRIORITY frames on idle streams, in one go
storm = b"".join(frame(2, 0, i, ((i + 2) | 0).to_bytes(4, "big") + b"\x10")
                 for i in range(1, 200001, 2))
s = connect(p.port)
t0 = time.monotonic()
s.sendall(PREFACE + SETTINGS_EMPTY)
try:
    s.sendall(storm + frame(1, 5, 200001, headers_block("/stream/10")))
except OSError as e:
    print("send error", e)
out, eof = read_all(s, 3)
s.close()
names = frame_names(out)
result("PRIORITY storm 100k", True, f"{names[:6]}..{names[-3:]} {len(names)} frames, "
       f"{time.monotonic() - t0:.2f}s rss={p.rss_kib()}KiB")

# 13. CONTINUATION flood: HEADERS without END_HEADERS then 100k CONTINUATIONs
blk = headers_block("/", extra=[("x-a", "b" * 10)])
s = connect(p.port)
s.sendall(PREFACE + SETTINGS_EMPTY + frame(1, 1, 1, blk))
try:
    for i in range(1000):
        s.sendall(frame(9, 0, 1, b"\x40\x01a\x01b" * 10) * 100)
except OSError as e:
    print("send stopped:", e)
out, eof = read_all(s, 2)
s.close()
result("CONTINUATION flood", any("GOAWAY" in n for n in frame_names(out)) and eof,
       f"{frame_names(out)} eof={eof}")

# 13b. CONTINUATION empty frames (length 0) flood
s = connect(p.port)
s.sendall(PREFACE + SETTINGS_EMPTY + frame(1, 1, 1, blk))
try:
    for i in range(200):
        s.sendall(frame(9, 0, 1, b"") * 1000)
except OSError as e:
    print("send stopped:", e)
out, eof = read_all(s, 2)
s.close()
result("empty CONTINUATION flood", any("GOAWAY" in n for n in frame_names(out)) and eof,
       f"{frame_names(out)} eof={eof}")

# 13c. HEADERS without END_HEADERS and then silence: header timeout must close it (5 s)
s = connect(p.port)
s.sendall(PREFACE + SETTINGS_EMPTY + frame(1, 1, 1, blk))
t0 = time.monotonic()
out, eof = read_all(s, 8)
result("open header block then silence", eof, f"closed after {time.monotonic() - t0:.1f}s "
       f"{frame_names(out)}")
s.close()

# 14. HPACK bomb: one big literal added to the table, then indexed 1000s of times
e = hpack.Encoder()
big_val = "A" * 4000
first = e.encode(req_headers("/stream/10") + [("x-bomb", big_val)])
# indexed repeats of dynamic entry 62 (the x-bomb field)
bomb = b"".join([b"\xbe"] * 16000)  # 0x80|62 = 0xbe
s = connect(p.port)
s.sendall(PREFACE + SETTINGS_EMPTY + frame(1, 5, 1, first) + frame(1, 4, 3, e.encode(req_headers("/stream/10")) + bomb[:16000]))
out, eof = read_all(s, 2)
s.close()
result("HPACK bomb (64 MB decoded)", True, f"{frame_names(out)} eof={eof} rss={p.rss_kib()}KiB")

# 14b. HPACK: dynamic table size update above advertised
names, eof, _ = raw_session([PREFACE + SETTINGS_EMPTY + frame(1, 5, 1, b"\x3f\xe1\x7f" + headers_block("/"))])
result("HPACK table size update 16k", True, f"{names} eof={eof}")

# 15. header list over 32KiB: many small fields
many = [("x-f%d" % i, "v" * 50) for i in range(800)]
s = connect(p.port)
e = hpack.Encoder()
block = e.encode(req_headers("/stream/10", extra=many))
chunks = [block[i:i + 16000] for i in range(0, len(block), 16000)]
fs = frame(1, 0 if len(chunks) > 1 else 4, 1, chunks[0])
for i, c in enumerate(chunks[1:]):
    fs += frame(9, 4 if i == len(chunks) - 2 else 0, 1, c)
s.sendall(PREFACE + SETTINGS_EMPTY + fs + frame(1, 5, 3, e.encode(req_headers("/stream/10"))))
out, eof = read_all(s, 2)
s.close()
result("header list 80 KB", True, f"{frame_names(out)} eof={eof}")

sane(p, "frames")
print("backend requests:", len(b.requests))
print("metrics:", p.h2_metrics())
rc = p.stop()
print("exit", rc)
bugs = [l for l in p.log().splitlines() if any(x in l for x in LIFETIME_BUGS)]
print("log bugs:", bugs[:5])
