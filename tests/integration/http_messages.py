# HTTP messages as the integration tests see them: a parsed Request (what a backend got) and
# Response (what a client got), the field parser they share, and the exceptions for a response
# that never came or came cut. Python 3.11 stdlib only.
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit


REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def _find(headers, name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def _tokens(headers, name: str) -> list[str]:
    """The comma-separated, lower-cased tokens of every `name` field."""
    found = []
    for value in _find(headers, name):
        found += [token.strip().lower() for token in value.split(",") if token.strip()]
    return found


def parse_fields(lines: list[bytes]) -> list[tuple[str, str]]:
    """`Name: value` lines into (name, value) with the value trimmed; raises on a bad line."""
    fields = []
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or b" " in name:
            raise ValueError(f"bad header line {line!r}")
        fields.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return fields


@dataclass
class Request:
    """One request as the backend received it (after ringlb re-serialized it)."""

    conn: int  # 1-based index of the backend connection that carried it
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    raw_head: bytes
    framing: str  # "none" | "length" | "chunked"
    content_length: int | None = None
    body: bytearray = field(default_factory=bytearray)  # the first BODY_CAP bytes
    body_len: int = 0
    complete: bool = False  # the whole body (and chunked terminator) arrived
    trailers: list[tuple[str, str]] = field(default_factory=list)
    chunk_extensions: list[bytes] = field(default_factory=list)
    _digest: object = field(default_factory=hashlib.sha256, repr=False)

    def header(self, name: str) -> str | None:
        found = _find(self.headers, name)
        return found[0] if found else None

    def headers_named(self, name: str) -> list[str]:
        return _find(self.headers, name)

    def tokens(self, name: str) -> list[str]:
        return _tokens(self.headers, name)

    @property
    def body_sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def path(self) -> str:
        return urlsplit(self.target).path if self.target.startswith("/") else self.target


@dataclass
class Response:
    """One response as the client received it."""

    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    raw_head: bytes
    framing: str = "none"  # "none" | "length" | "chunked" | "close"
    body: bytes = b""
    body_len: int = 0
    trailers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        found = _find(self.headers, name)
        return found[0] if found else None

    def headers_named(self, name: str) -> list[str]:
        return _find(self.headers, name)

    def tokens(self, name: str) -> list[str]:
        return _tokens(self.headers, name)

    @property
    def closes(self) -> bool:
        return "close" in self.tokens("Connection")

    def json(self):
        return json.loads(self.body)

    def __str__(self):
        body = self.body[:200]
        return f"{self.status} {self.reason} {self.headers} body={body!r}"


class NoResponse(Exception):
    """The connection ended (how = "eof" | "reset") before a whole response head arrived."""

    def __init__(self, how: str, data: bytes):
        super().__init__(f"connection {how} before a response head; got {data[:300]!r}")
        self.how = how
        self.data = data


class IncompleteResponse(Exception):
    """The head arrived but the connection ended before the body was complete."""

    def __init__(self, response: Response, how: str, detail: str):
        super().__init__(f"{response.status} response cut short ({how}): {detail}")
        self.response = response
        self.how = how
