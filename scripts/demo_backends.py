#!/usr/bin/env python3
"""Demo HTTP backends for config/example.toml: each answers every request with its own name.

Usage: demo_backends.py PORT [PORT ...]   (stops on Ctrl-C or SIGTERM)
"""
import http.server
import signal
import sys
import threading


def make_handler(name):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = f"hello from {name} (path {self.path})\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def main():
    ports = [int(p) for p in sys.argv[1:]] or [9001, 9002]
    servers = []
    for index, port in enumerate(ports, start=1):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                 make_handler(f"backend {index} on :{port}"))
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"demo backends listening on {', '.join(str(p) for p in ports)}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
