# Half-closed clients, reloads and SIGTERM mid-flight.
#  1. client sends its requests then shuts its write side (FIN): do the streams still finish?
#  2. SIGHUP with a changed http2 config while 50 streams download: in-flight streams finish,
#     GOAWAY is sent, the old connection closes once done, no crash.
#  3. SIGTERM while 50 streams download: GOAWAY, in-flight streams finish (within grace),
#     process exits 0.
from common import *

b = HttpBackend("b1")
p = Proxy([b.port], grace="10s")


def open_streams(port, n, path):
    s = connect(port)
    c = client_conn()
    ids = []
    for _ in range(n):
        sid = c.get_next_available_stream_id()
        ids.append(sid)
        c.send_headers(sid, req_headers(path), end_stream=True)
    s.sendall(c.data_to_send())
    s.recv  # the server's SETTINGS are acknowledged by drain()
    return s, c, ids


def drain(s, c, ids, timeout):
    """Raw frame reading (python-h2 refuses DATA after a GOAWAY): per-stream bytes, ended
    streams, resets, the last GOAWAY, and whether the server closed. Opens windows as it reads."""
    got = {i: 0 for i in ids}
    ended, resets, goaway = set(), {}, None
    buf = b""
    first = True
    deadline = time.monotonic() + timeout
    s.settimeout(0.3)
    eof = False
    while time.monotonic() < deadline:
        if len(ended) + len(resets) >= len(ids) and (eof or goaway is None or
                                                    time.monotonic() > deadline - timeout + 0.1):
            # all done: wait a little for the server's close
            s.settimeout(3)
        try:
            data = s.recv(1 << 16)
        except socket.timeout:
            if len(ended) + len(resets) >= len(ids):
                break
            continue
        except ConnectionResetError:
            eof = "reset"
            break
        if not data:
            eof = True
            break
        buf += data
        updates = b""
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
            n = int.from_bytes(buf[:3], "big")
            t, fl, sid, pl = buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + n]
            buf = buf[9 + n:]
            if t == 0:
                got[sid] = got.get(sid, 0) + n
                if n:
                    updates += frame(8, 0, 0, n.to_bytes(4, "big")) + frame(8, 0, sid, n.to_bytes(4, "big"))
            if t in (0, 1) and fl & 1:
                ended.add(sid)
            if t == 3:
                resets[sid] = int.from_bytes(pl[:4], "big")
            if t == 7:
                goaway = (int.from_bytes(pl[:4], "big"), int.from_bytes(pl[4:8], "big"))
            if t == 4 and not fl & 1:
                updates += frame(4, 1, 0)
            if t == 6 and not fl & 1:
                updates += frame(6, 1, 0, pl)
        if updates:
            try:
                s.sendall(updates)
            except OSError:
                pass
    return got, ended, resets, goaway, eof


# 1. half-close after requests
s, c, ids = open_streams(p.port, 5, "/drip/10/50")  # 10 pieces, 50 ms apart: 0.5 s each
s.shutdown(socket.SHUT_WR)
got, ended, resets, goaway, eof = drain(s, c, ids, 5)
result("half-closed client: streams finish", len(ended) == 5,
       f"ended={len(ended)} resets={resets} bytes={sum(got.values())} goaway={goaway} eof={eof}")
s.close()

# 2. reload mid-flight
s, c, ids = open_streams(p.port, 50, "/drip/20/100")  # 2 s each
time.sleep(0.5)
p.write_config(grace="10s", http2={"max_concurrent_streams": 10, "initial_window": "32KiB"})
p.proc.send_signal(signal.SIGHUP)
t0 = time.monotonic()
got, ended, resets, goaway, eof = drain(s, c, ids, 10)
result("reload mid-flight: streams finish", len(ended) == 50,
       f"ended={len(ended)} resets={len(resets)} goaway={goaway} eof={eof} "
       f"{time.monotonic() - t0:.1f}s bytes={sum(got.values())}")
s.close()
time.sleep(0.3)
# the new config applies to new connections
s2 = connect(p.port)
c2 = client_conn()
s2.sendall(c2.data_to_send())
evs = pump(s2, c2, lambda e: any(isinstance(x, h2.events.RemoteSettingsChanged) for x in e))
ch = [e for e in evs if isinstance(e, h2.events.RemoteSettingsChanged)][0].changed_settings
result("reload: new connection sees max_concurrent 10",
       ch.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS).new_value == 10, str({int(k): v.new_value for k, v in ch.items()}))
s2.close()
p.check("after reload")

# 3. streams that start after the reload's GOAWAY on an old connection: refused, not lost
s, c, ids = open_streams(p.port, 5, "/drip/20/100")
time.sleep(0.3)
p.proc.send_signal(signal.SIGHUP)
time.sleep(0.3)
sid = c.get_next_available_stream_id()
c.send_headers(sid, req_headers("/stream/10"), end_stream=True)
try:
    s.sendall(c.data_to_send())
except OSError:
    pass
got, ended, resets, goaway, eof = drain(s, c, ids + [sid], 6)
result("stream after GOAWAY is refused, earlier ones finish", len(ended & set(ids)) == 5,
       f"ended={sorted(ended)} resets={resets} goaway={goaway} eof={eof}")
s.close()

# 4. SIGTERM mid-flight
s, c, ids = open_streams(p.port, 50, "/drip/20/100")
time.sleep(0.5)
p.proc.send_signal(signal.SIGTERM)
t0 = time.monotonic()
got, ended, resets, goaway, eof = drain(s, c, ids, 12)
try:
    rc = p.proc.wait(12)
except subprocess.TimeoutExpired:
    rc = "still running"
result("SIGTERM mid-flight: streams finish, GOAWAY, exit 0", len(ended) == 10 and goaway and rc == 0,
       f"ended={len(ended)} resets={len(resets)} goaway={goaway} eof={eof} rc={rc} "
       f"{time.monotonic() - t0:.1f}s")
print("log bugs:", p.lifetime_bugs())
s.close()

# 5. SIGTERM with a stream that never ends (forever drip): grace must cut it, process exits
p = Proxy([b.port], grace="2s")
s, c, ids = open_streams(p.port, 3, "/drip/100000/100")
time.sleep(0.5)
p.proc.send_signal(signal.SIGTERM)
t0 = time.monotonic()
got, ended, resets, goaway, eof = drain(s, c, ids, 6)
try:
    rc = p.proc.wait(8)
except subprocess.TimeoutExpired:
    rc = "still running"
result("SIGTERM with endless streams: exits after grace", rc == 0,
       f"rc={rc} after {time.monotonic() - t0:.1f}s goaway={goaway} resets={resets} eof={eof}")
print("log bugs:", p.lifetime_bugs())
p.stop()
