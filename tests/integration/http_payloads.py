# Deterministic payloads for the HTTP integration tests: pseudo-random bytes that are never held
# whole (with their SHA-256), re-chunking, and chunked transfer coding. Python 3.11 stdlib only.
from __future__ import annotations

import hashlib
import random


MiB = 1 << 20


_BLOCK = 1 << 16
_BASE = random.Random(0x5EED).randbytes(_BLOCK)


def pattern_chunks(n: int):
    """`n` bytes of pseudo-random data in 64 KiB pieces, never held whole.

    Piece i starts with i as 8 big-endian bytes, so a dropped, repeated or reordered piece
    changes the digest even though the rest of each piece is the same.
    """
    index, left = 0, n
    while left > 0:
        piece = index.to_bytes(8, "big") + _BASE[8:]
        if left < _BLOCK:
            piece = piece[:left]
        yield piece
        left -= len(piece)
        index += 1


def pattern_bytes(n: int) -> bytes:
    return b"".join(pattern_chunks(n))


def pattern_sha256(n: int) -> str:
    digest = hashlib.sha256()
    for piece in pattern_chunks(n):
        digest.update(piece)
    return digest.hexdigest()


def rechunk(pieces, size: int):
    """The same bytes as `pieces`, re-cut into pieces of `size` bytes (the last may be shorter)."""
    pending = bytearray()
    for piece in pieces:
        pending += piece
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


def chunked_encode(pieces, extension: bytes = b"", trailers: bytes = b"") -> bytes:
    """HTTP/1.1 chunked framing of `pieces`; `trailers` are raw `Name: value\\r\\n` lines."""
    out = bytearray()
    for piece in pieces:
        if piece:
            out += b"%x%s\r\n%s\r\n" % (len(piece), extension, piece)
    out += b"0\r\n" + trailers + b"\r\n"
    return bytes(out)
