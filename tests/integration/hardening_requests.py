# Raw requests shared by the test_http_hardening* files: a Host line, a smuggled request to look
# for at the backend, and builders for a POST with given fields and for a request line.
HOST = b"Host: h.test\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: h.test\r\n\r\n"
TE_CHUNKED = b"Transfer-Encoding: chunked\r\n"


def post(fields: bytes, body: bytes = b"", target: bytes = b"/v") -> bytes:
    return b"POST " + target + b" HTTP/1.1\r\n" + HOST + fields + b"\r\n" + body


def get_line(line: bytes, fields: bytes = HOST) -> bytes:
    return line + b"\r\n" + fields + b"\r\n"
