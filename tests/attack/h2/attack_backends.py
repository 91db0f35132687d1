# Broken backends behind h2 streams: garbage, 101, 1xx, no length then close, chunked with
# trailers, a never-ending response, an answer before the request body finished, a close or a
# reset mid-response on one stream while others flow. Each case is one stream on one shared
# connection, so a broken stream must not disturb its neighbours.
import threading
from common import *


class Evil:
    """A backend whose behaviour is picked by the request path."""

    def __init__(self):
        self.l = socket.socket()
        self.l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.l.bind((HOST, 0))
        self.l.listen(256)
        self.port = self.l.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            c, _ = self.l.accept()
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            buf = b""
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d:
                    return
                buf += d
            head = buf.split(b"\r\n\r\n")[0].decode()
            path = head.split(" ")[1]
            getattr(self, "p_" + path.strip("/").split("/")[0].replace("-", "_"))(c, head)
        except (OSError, AttributeError) as e:
            print("evil:", e)
        finally:
            try:
                c.close()
            except OSError:
                pass

    def p_garbage(self, c, head):
        c.sendall(b"\x00\x01garbage garbage\r\n\r\n")

    def p_half_head(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")

    def p_switch(self, c, head):
        c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nhello")
        time.sleep(1)

    def p_interim(self, c, head):
        c.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                  b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")

    def p_until_close(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + b"u" * 100000)

    def p_trailers(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n"
                  b"5\r\nhello\r\n0\r\nx-sum: 42\r\nconnection: close\r\n\r\n")

    def p_bad_trailers(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5\r\nhello\r\n0\r\n:status: 500\r\nbad\x00name: 1\r\n\r\n")

    def p_forever(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(100000):
                c.sendall(b"4\r\nmore\r\n")
                time.sleep(0.01)
        except OSError:
            pass

    def p_early(self, c, head):  # answers before the request body is read
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly")
        time.sleep(2)

    def p_close_mid(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"c" * 5000)
        time.sleep(0.2)

    def p_reset_mid(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"r" * 5000)
        time.sleep(0.2)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    def p_bad_fields(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, x-foo\r\n"
                  b"X-Foo: 1\r\nUpgrade: h2c\r\nTransfer-Encoding: identity\r\nKeep-Alive: 5\r\n"
                  b"X-Bad: a\r\n\r\nok")

    def p_huge_head(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"h" * 200000 + b"\r\nContent-Length: 2\r\n\r\nok")

    def p_two_lengths(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!")

    def p_status_999(self, c, head):
        c.sendall(b"HTTP/1.1 999 Weird\r\nContent-Length: 2\r\n\r\nok")

    def p_no_content(self, c, head):
        c.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello")
        time.sleep(0.5)

    def p_ok(self, c, head):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


evil = Evil()
good = HttpBackend("good")
p = Proxy([evil.port], pool_timeouts={"response": "3s"}, access="/tmp/h2attack_access.log")
cases = ["garbage", "half-head", "switch", "interim", "until-close", "trailers", "bad-trailers",
         "forever", "close-mid", "reset-mid", "bad-fields", "huge-head", "two-lengths",
         "status-999", "no-content", "ok"]
s = connect(p.port)
c = client_conn()
sids = {}
for name in cases:
    sid = c.get_next_available_stream_id()
    sids[sid] = name
    c.send_headers(sid, req_headers("/" + name), end_stream=True)
# the early answer: a POST whose body is still coming
sid = c.get_next_available_stream_id()
sids[sid] = "early"
c.send_headers(sid, req_headers("/early", "POST", extra=[("content-length", "100000")]))
c.send_data(sid, b"x" * 1000)
s.sendall(c.data_to_send())
state = {sid: {"status": None, "bytes": 0, "end": None, "trailers": None} for sid in sids}
deadline = time.monotonic() + 6
s.settimeout(0.3)
forever_sid = [k for k, v in sids.items() if v == "forever"][0]
while time.monotonic() < deadline:
    try:
        data = s.recv(65536)
    except socket.timeout:
        continue
    if not data:
        print("connection closed!")
        break
    for e in c.receive_data(data):
        sid = getattr(e, "stream_id", None)
        if isinstance(e, h2.events.ResponseReceived):
            state[sid]["status"] = dict(e.headers)[":status"]
            state[sid]["headers"] = [k for k, v in e.headers]
        elif isinstance(e, h2.events.DataReceived):
            state[sid]["bytes"] += len(e.data)
            c.acknowledge_received_data(e.flow_controlled_length, sid)
        elif isinstance(e, h2.events.TrailersReceived):
            state[sid]["trailers"] = e.headers
        elif isinstance(e, h2.events.StreamEnded):
            state[sid]["end"] = "end"
        elif isinstance(e, h2.events.StreamReset):
            state[sid]["end"] = f"RST{int(e.error_code)}"
        elif isinstance(e, h2.events.ConnectionTerminated):
            print("GOAWAY", e)
    s.sendall(c.data_to_send())
for sid, name in sids.items():
    print(f"  {name:13s} {state[sid]}")
# the never-ending one must still be flowing; reset it and check the backend socket closes
c.reset_stream(forever_sid)
s.sendall(c.data_to_send())
time.sleep(0.5)
s.close()
time.sleep(0.5)
p.check("after evil backends")
sane_backend = HttpBackend("sane")
p.stop()
