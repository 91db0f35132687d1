from common import *
import collections
b = HttpBackend("b1")
p = Proxy([b.port], http2={"max_concurrent_streams": 100}, workers=2)
out = subprocess.run(["h2load", "-n", "20000", "-c", "50", "-m", "100", "-t", "1", f"http://{HOST}:{p.port}/stream/1000"], capture_output=True, text=True, timeout=120)
print([l for l in out.stdout.splitlines() if l.startswith(("requests:", "status codes:"))])
print(out.stderr[-500:])
print({k: v for k, v in p.h2_metrics().items() if v})
log = p.log().splitlines()
print(collections.Counter(l.split("]", 1)[1][:100] for l in log if "[w" in l).most_common(10))
print("backend conns", b.connections, "errors", b.errors[:3])
p.stop()
