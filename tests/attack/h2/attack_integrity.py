# No stream gets another stream's bytes: 3 rounds of 60 streams of different sizes (length and
# chunked) on one connection, a third of them reset mid-body, backend connections reused between
# rounds; every completed body must equal the backend's pattern for its size.
import random
from common import *
import h2.exceptions
from http_payloads import pattern_chunks

b = HttpBackend("b1")
p = Proxy([b.port])
s = connect(p.port)
c = client_conn()
s.sendall(c.data_to_send())
random.seed(7)
bad = 0
done_ok = 0
for rnd in range(3):
    want = {}
    for i in range(60):
        n = random.choice([0, 1, 100, 5000, 65536, 100000, 300000])
        path = random.choice(["/stream/%d", "/chunked/%d"]) % n
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, req_headers(path), end_stream=True)
        want[sid] = n
    s.sendall(c.data_to_send())
    to_reset = set(random.sample(sorted(want), 20))
    bodies = {sid: bytearray() for sid in want}
    ended = set()
    s.settimeout(0.5)
    deadline = time.monotonic() + 20
    while len(ended) < len(want) and time.monotonic() < deadline:
        try:
            data = s.recv(1 << 16)
        except socket.timeout:
            continue
        for e in c.receive_data(data):
            sid = getattr(e, "stream_id", None)
            if isinstance(e, h2.events.DataReceived):
                bodies[sid] += e.data
                c.acknowledge_received_data(e.flow_controlled_length, sid)
                if sid in to_reset and len(bodies[sid]) > 1000 and sid not in ended:
                    try:
                        c.reset_stream(sid)
                    except h2.exceptions.StreamClosedError:
                        pass  # its END_STREAM is in this same read
                    ended.add(sid)
            elif isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)):
                ended.add(sid)
        s.sendall(c.data_to_send())
    for sid, n in want.items():
        got = bytes(bodies[sid])
        expect = b"".join(pattern_chunks(n))
        if sid in to_reset:
            if not expect.startswith(got):
                bad += 1
                print("reset stream got foreign bytes", sid, n, len(got))
        elif got != expect:
            bad += 1
            print("mismatch", sid, n, len(got))
        else:
            done_ok += 1
    print(f"round {rnd}: ended {len(ended)}/{len(want)}")
result("stream integrity", bad == 0, f"{done_ok} whole bodies matched, {bad} bad")
p.check("integrity")
p.stop()
