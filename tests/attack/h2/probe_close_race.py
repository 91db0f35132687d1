# Lingering close: a reload drains an h2 connection; the client reads slowly and acknowledges
# every DATA frame with WINDOW_UPDATE. When ringlb closes the socket right after the last frame
# went into the kernel, the client's late WINDOW_UPDATEs hit a closed socket, the kernel answers
# RST, and the client may lose the end of the response still sitting in its receive buffer.
from common import *
b = HttpBackend("b1")
p = Proxy([b.port])
N = 2_000_000
lost = 0
for attempt in range(int(os.environ.get("TRIES", "5"))):
    s = connect(p.port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.sendall(PREFACE + frame(4, 0, 0, (4).to_bytes(2, "big") + (N).to_bytes(4, "big")) +
              frame(8, 0, 0, (N).to_bytes(4, "big")) +
              frame(1, 5, 1, __import__("hpack").Encoder().encode(req_headers(f"/stream/{N}"))))
    time.sleep(0.05)
    p.proc.send_signal(signal.SIGHUP)  # drain: GOAWAY, close once stream 1 is done
    time.sleep(0.5)  # the whole response is in our receive buffer by now
    buf, got, ended, err = b"", 0, False, None
    s.settimeout(2)
    try:
        while not ended:
            d = s.recv(16384)
            if not d:
                break
            buf += d
            upd = b""
            while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                n = int.from_bytes(buf[:3], "big")
                t, fl, sid = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
                buf = buf[9 + n:]
                if t == 0 and sid == 1:
                    got += n
                    ended = ended or bool(fl & 1)
                    if n:
                        upd += frame(8, 0, 0, n.to_bytes(4, "big"))
            if upd:
                s.sendall(upd)
            time.sleep(0.002)
    except OSError as e:
        err = e
    s.close()
    print(f"attempt {attempt}: got {got} of {N}, END_STREAM={ended}, error={err}")
    lost += not ended
result("no response tail lost to the close", lost == 0, f"{lost} of 5 lost")
p.stop()
