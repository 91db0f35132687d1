# A client within SETTINGS_MAX_CONCURRENT_STREAMS (h2load -m 100 against max 100): how many of
# its streams are refused?
from common import *
port = free_port()
fb = subprocess.Popen(["/usr/bin/python3", str(HERE / "fast_backend.py"), str(port)])
time.sleep(0.5)
p = Proxy([port], http2={"max_concurrent_streams": 100}, workers=2)
for c in ("5", "20", "50"):
    out = subprocess.run(["h2load", "-n", "20000", "-c", c, "-m", "100", "-t", "1",
                          f"http://{HOST}:{p.port}/x"], capture_output=True, text=True, timeout=120)
    print(c, [l for l in out.stdout.splitlines() if l.startswith(("requests:", "status codes:"))],
          {k.split(",")[-1]: v for k, v in p.h2_metrics().items() if "refused" in k})
p.check("compliant")
p.stop()
fb.kill()
