# Connection window accounting: many uploads that ringlb refuses mid-body (413 over
# max_body_bytes) or that the backend answers early, each followed by more DATA the client had
# in flight. If any refused byte is never handed back to the connection window, later uploads on
# the same connection stall once the leak passes initial_window x max_concurrent_streams.
from common import *

b = HttpBackend("b1")
p = Proxy([b.port], limits={"max_body_bytes": "1000"}, http2={"max_concurrent_streams": 4})
s = connect(p.port)
c = client_conn()
s.sendall(c.data_to_send())
s.settimeout(0.2)


def upload(path, size, extra=()):
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, req_headers(path, "POST", extra=extra))
    sent = 0
    status = None
    ended = False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not ended:
        if sent < size:
            try:
                win = min(c.local_flow_control_window(sid), c.max_outbound_frame_size, size - sent)
            except Exception:  # noqa: BLE001 stream closed
                win = 0
            if win > 0:
                try:
                    c.send_data(sid, b"d" * win, end_stream=sent + win == size)
                    sent += win
                except Exception:  # noqa: BLE001
                    sent = size
        s.sendall(c.data_to_send())
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        for e in c.receive_data(data):
            if isinstance(e, h2.events.ResponseReceived) and e.stream_id == sid:
                status = dict(e.headers)[":status"]
            if isinstance(e, h2.events.DataReceived):
                c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            if isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)) and e.stream_id == sid:
                ended = True
        s.sendall(c.data_to_send())
    return status, sent, ended


results = [upload("/echo", 300000) for _ in range(60)]
print("refused uploads:", results[:2], "... window now", c.outbound_flow_control_window)
ok = upload("/echo", 900)
print("a small upload after:", ok)
result("no connection window leak", ok[0] == "200" and ok[2], str(ok))
p.check("window")
p.stop()
