# The lingering-close race with python-h2's ordinary flow control (default 64 KiB windows,
# WINDOW_UPDATE as it consumes): a reader slightly slower than ringlb, and a reload mid-download.
from common import *
b = HttpBackend("b1")
p = Proxy([b.port])
bad = 0
for attempt in range(5):
    s = connect(p.port)
    c = client_conn()
    c.send_headers(1, req_headers("/stream/3000000"), end_stream=True)
    s.sendall(c.data_to_send())
    time.sleep(0.1)
    p.proc.send_signal(signal.SIGHUP)
    got, ended, err = 0, False, None
    s.settimeout(3)
    try:
        while not ended:
            d = s.recv(8192)
            if not d:
                err = "EOF"
                break
            for e in c.receive_data(d):
                if isinstance(e, h2.events.DataReceived):
                    got += len(e.data)
                    c.acknowledge_received_data(e.flow_controlled_length, 1)
                if isinstance(e, h2.events.StreamEnded):
                    ended = True
            s.sendall(c.data_to_send())
            time.sleep(0.001)
    except Exception as e:  # noqa: BLE001
        err = repr(e)[:80]
    s.close()
    bad += not ended
    print(f"attempt {attempt}: got {got} END_STREAM={ended} err={err}")
result("python-h2 slow reader across a reload", bad == 0, f"{bad} of 5 cut")
p.stop()
