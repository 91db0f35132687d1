#!/usr/bin/python3
"""Writes the seed corpus of h2_connection_fuzz into corpus_h2/: what HTTP/2 clients send.

Valid exchanges come from python3-h2's client (Debian `python3-h2`); the malformed ones (issue
18, items 5 and 6) are framed by hand with hyperframe and hpack, which h2 depends on. Each file
is two harness bytes (read size, flags: see h2_connection_fuzz.cpp) and the client's bytes.

Regenerate: /usr/bin/python3 tests/fuzz/make_h2_corpus.py   (rewrites seed-*; leaves the rest)
The min-* files are what a fuzz run added, kept by a set-cover merge over the seeds:
  build-fuzz/h2_connection_fuzz -max_total_time=300 WORK tests/fuzz/corpus_h2
  build-fuzz/h2_connection_fuzz -set_cover_merge=1 MERGED(seeds copied in) WORK, then min-<sha1>.
"""
import os
import pathlib

import h2.config
import h2.connection
import hpack
from hyperframe import frame as hf

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
GET = [(":method", "GET"), (":scheme", "https"), (":path", "/"), (":authority", "example.com")]
POST = [(":method", "POST"), (":scheme", "https"), (":path", "/upload"),
        (":authority", "example.com"), ("content-type", "text/plain")]
SETTINGS_ACK = hf.SettingsFrame(0, flags=["ACK"]).serialize()


def client():
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    return conn


def h2_seeds():
    """Exchanges a well-behaved client makes, through python3-h2."""
    seeds = {}

    c = client()
    c.send_headers(1, GET, end_stream=True)
    seeds["get"] = c.data_to_send() + SETTINGS_ACK

    c = client()
    c.send_headers(1, POST + [("content-length", "11")])
    c.send_data(1, b"hello world", end_stream=True)
    seeds["post_content_length"] = c.data_to_send() + SETTINGS_ACK

    c = client()
    c.send_headers(1, POST)
    c.send_data(1, b"part one ")
    c.send_data(1, b"part two")
    c.send_headers(3, GET, end_stream=True)
    c.send_headers(1, [("x-trailer", "yes")], end_stream=True)
    seeds["post_chunked_trailers"] = c.data_to_send() + SETTINGS_ACK

    c = client()
    for stream in (1, 3, 5, 7):
        c.send_headers(stream, GET + [("x-n", str(stream))], end_stream=True)
    c.reset_stream(5)
    c.ping(b"12345678")
    c.increment_flow_control_window(65535)
    c.close_connection()
    seeds["many_reset_ping_window_goaway"] = c.data_to_send()

    c = client()
    c.send_headers(1, [(":method", "HEAD")] + GET[1:], end_stream=True)
    c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10,
                       h2.settings.SettingCodes.MAX_FRAME_SIZE: 16384})
    c.send_headers(3, GET, end_stream=True)
    seeds["head_small_window"] = c.data_to_send()

    c = client()
    c.send_headers(1, POST)
    c.send_data(1, b"x" * 16000)
    c.send_data(1, b"y" * 16000)
    c.send_data(1, b"", end_stream=True)
    seeds["post_large_body"] = c.data_to_send()
    return seeds


class Raw:
    """Frames by hand, for what a well-behaved client never sends."""

    def __init__(self):
        self.out = bytearray(PREFACE + hf.SettingsFrame(0).serialize())
        self.encoder = hpack.Encoder()

    def block(self, fields):
        return self.encoder.encode(fields, huffman=False)

    def headers(self, stream, fields, flags=("END_HEADERS", "END_STREAM"), raw=None):
        f = hf.HeadersFrame(stream, flags=list(flags))
        f.data = raw if raw is not None else self.block(fields)
        self.out += f.serialize()
        return self

    def frame(self, f):
        self.out += f.serialize()
        return self

    def data(self, stream, payload, end=False):
        return self.frame(hf.DataFrame(stream, payload, flags=["END_STREAM"] if end else []))

    def bytes(self):
        return bytes(self.out)


def raw_block(fields):
    """An HPACK block of literal fields, names kept as given (hpack lowercases nothing here)."""
    out = bytearray()
    for name, value in fields:
        out += b"\x00" + hpack.hpack.encode_integer(len(name), 7) + name
        out += hpack.hpack.encode_integer(len(value), 7) + value
    return bytes(out)


def malformed_seeds():
    """Issue 18 item 5 (strict translation) and item 6 (floods), one vector each."""
    seeds = {}
    base = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"),
            (b":authority", b"example.com")]
    bad_heads = {
        "uppercase_name": base + [(b"X-Upper", b"1")],
        "connection_field": base + [(b"connection", b"close")],
        "transfer_encoding": base + [(b"transfer-encoding", b"chunked")],
        "te_gzip": base + [(b"te", b"gzip")],
        "te_trailers": base + [(b"te", b"trailers")],
        "crlf_value": base + [(b"x-a", b"1\r\nx-b: 2")],
        "nul_value": base + [(b"x-a", b"1\x002")],
        "missing_path": base[:2] + base[3:],
        "duplicate_method": base + [(b":method", b"POST")],
        "pseudo_after_regular": base[:3] + [(b"x-a", b"1"), (b":authority", b"late")],
        "authority_host_disagree": base + [(b"host", b"other.example")],
        "host_only": base[:3] + [(b"host", b"example.com")],
        "connect": [(b":method", b"CONNECT"), (b":authority", b"example.com:443")],
        "connect_extended": [(b":method", b"CONNECT"), (b":protocol", b"websocket"),
                             (b":scheme", b"https"), (b":path", b"/ws"),
                             (b":authority", b"example.com")],
        "huge_header_list": base + [(b"x-big", b"v" * 40000)],
    }
    for name, fields in bad_heads.items():
        seeds[name] = Raw().headers(1, None, raw=raw_block(fields)).bytes()

    post = base[:1] and [(b":method", b"POST")] + base[1:]
    seeds["content_length_short"] = (
        Raw().headers(1, None, flags=["END_HEADERS"],
                      raw=raw_block(post + [(b"content-length", b"10")]))
        .data(1, b"abc", end=True).bytes())
    seeds["content_length_long"] = (
        Raw().headers(1, None, flags=["END_HEADERS"],
                      raw=raw_block(post + [(b"content-length", b"2")]))
        .data(1, b"abcdef", end=True).bytes())

    r = Raw()
    block = r.block([(k.decode(), v.decode()) for k, v in base] + [("x-long", "z" * 200)])
    r.headers(1, None, flags=["END_STREAM"], raw=block[:10])
    r.frame(hf.ContinuationFrame(1, block[10:100]))
    r.frame(hf.ContinuationFrame(1, block[100:], flags=["END_HEADERS"]))
    seeds["continuation"] = r.bytes()

    r = Raw().headers(1, None, flags=["END_STREAM"], raw=raw_block(base))
    for _ in range(200):
        r.frame(hf.ContinuationFrame(1, raw_block([(b"x-f", b"f" * 50)])))
    seeds["continuation_flood"] = r.bytes()

    r = Raw()
    for stream in range(1, 400, 2):
        r.headers(stream, [(k.decode(), v.decode()) for k, v in base], flags=["END_HEADERS"])
        r.frame(hf.RstStreamFrame(stream, error_code=8))
    seeds["rapid_reset"] = r.bytes()

    r = Raw()
    for i in range(300):
        r.frame(hf.PingFrame(0, opaque_data=i.to_bytes(8, "big")))
    seeds["ping_flood"] = r.bytes()

    r = Raw()
    for i in range(300):
        r.frame(hf.SettingsFrame(0, settings={hf.SettingsFrame.HEADER_TABLE_SIZE: i}))
    seeds["settings_flood"] = r.bytes()

    r = Raw().headers(1, None, flags=["END_HEADERS"], raw=raw_block(post))
    for _ in range(300):
        r.data(1, b"")
    seeds["empty_data_flood"] = r.data(1, b"", end=True).bytes()

    # A dynamic table size update to 4 GiB, then one to 0 and a field indexed past the table.
    seeds["hpack_table_size"] = Raw().headers(
        1, None, raw=b"\x3f\xe1\xff\xff\xff\x0f" + raw_block(base) + b"\x20\xbe").bytes()
    # Decompression bomb: one big field inserted once, then referenced many times.
    bomb = (b"\x40" + hpack.hpack.encode_integer(5, 7) + b"x-bom" +
            hpack.hpack.encode_integer(4000, 7) + b"b" * 4000 + b"\xbe" * 500)
    seeds["hpack_bomb"] = Raw().headers(1, None, raw=raw_block(base) + bomb).bytes()

    seeds["window_overflow"] = (
        Raw().frame(hf.WindowUpdateFrame(0, window_increment=0x7fffffff))
        .frame(hf.WindowUpdateFrame(0, window_increment=0x7fffffff)).bytes())
    seeds["goaway_midstream"] = (
        Raw().headers(1, None, flags=["END_HEADERS"], raw=raw_block(post))
        .frame(hf.GoAwayFrame(0, last_stream_id=1, error_code=0)).data(1, b"ok", end=True)
        .bytes())
    seeds["even_stream_id"] = Raw().headers(2, None, raw=raw_block(base)).bytes()
    seeds["priority_self"] = Raw().frame(hf.PriorityFrame(1, depends_on=1)).bytes()
    return seeds


def main():
    out_dir = pathlib.Path(__file__).resolve().parent / "corpus_h2"
    out_dir.mkdir(exist_ok=True)
    for old in out_dir.glob("seed-*"):
        old.unlink()
    # Harness bytes: (read size, flags). Each seed once plainly; the valid ones also with flags.
    variants = {"": b"\x00\x00", "-tight": b"\x07\x01", "-slow-trailers-bigbody": b"\x00\x4c",
                "-late-reset-goaway": b"\x05\x32"}
    count = 0
    for name, payload in h2_seeds().items():
        for suffix, prefix in variants.items():
            (out_dir / f"seed-{name}{suffix}").write_bytes(prefix + payload)
            count += 1
    for name, payload in malformed_seeds().items():
        (out_dir / f"seed-{name}").write_bytes(b"\x00\x00" + payload)
        (out_dir / f"seed-{name}-tight").write_bytes(b"\x03\x01" + payload)
        count += 2
    print(f"wrote {count} seeds to {os.path.relpath(out_dir)}")


if __name__ == "__main__":
    main()
