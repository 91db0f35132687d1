# The lingering-close race as a user sees it: curl over h2c with --limit-rate downloads 2 MB; a
# reload (SIGHUP) comes mid-download. ringlb drains the connection: the stream should complete.
from common import *
b = HttpBackend("b1")
p = Proxy([b.port])
proc = subprocess.Popen(["curl", "-s", "-S", "--http2-prior-knowledge", "--limit-rate", "1M",
                         "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                         f"http://{HOST}:{p.port}/stream/2000000"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(0.3)
p.proc.send_signal(signal.SIGHUP)
out, err = proc.communicate(timeout=30)
result("curl download across a reload completes", proc.returncode == 0 and out.endswith("2000000"),
       f"rc={proc.returncode} out={out!r} err={err.strip()!r}")
p.stop()
