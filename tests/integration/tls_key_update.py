# A TLS 1.3 peer that sends KeyUpdate requests (update_requested) and never reads, for the
# integration tests: Python's ssl module cannot send a KeyUpdate, so this drives the same libssl
# through ctypes (SSL_key_update + SSL_do_handshake). Each request makes the other side's
# OpenSSL write a KeyUpdate of its own in reply, ciphertext that side must hold until this peer
# reads it, which it never does. Stdlib only; OpenSSL 3 (Debian 12's libssl3).
#
# Incoming ciphertext goes through a memory BIO that this peer fills from the socket, outgoing
# straight to the socket. OpenSSL's SSL_read will not decrypt while a write of its own is
# pending (after a flood, the last KeyUpdate usually is: SSL_key_update leaves the connection in
# init until it went out), so a peer reading through a socket BIO could never read again once
# it had stalled the other side; this one drains the socket whenever it waits to write, as any
# event-driven client with a buffer of its own does, and the other side's replies can go out.
from __future__ import annotations

import ctypes
import ctypes.util
import select
import socket

_SSL_CTRL_SET_TLSEXT_HOSTNAME = 55
_SSL_CTRL_SET_MIN_PROTO_VERSION = 123
_TLS1_3_VERSION = 0x0304
_SSL_FILETYPE_PEM = 1
_SSL_ERROR_WANT_READ = 2
_SSL_ERROR_WANT_WRITE = 3
_SSL_KEY_UPDATE_REQUESTED = 1
_BIO_NOCLOSE = 0
_BIO_C_SET_BUF_MEM_EOF_RETURN = 130


def _load():
    name = ctypes.util.find_library("ssl") or "libssl.so.3"
    lib = ctypes.CDLL(name)
    p = ctypes.c_void_p
    signatures = {
        "TLS_client_method": ([], p), "TLS_server_method": ([], p),
        "SSL_CTX_new": ([p], p), "SSL_CTX_free": ([p], None),
        "SSL_CTX_ctrl": ([p, ctypes.c_int, ctypes.c_long, p], ctypes.c_long),
        "SSL_CTX_use_certificate_chain_file": ([p, ctypes.c_char_p], ctypes.c_int),
        "SSL_CTX_use_PrivateKey_file": ([p, ctypes.c_char_p, ctypes.c_int], ctypes.c_int),
        "SSL_new": ([p], p), "SSL_free": ([p], None),
        "BIO_s_mem": ([], p), "BIO_new": ([p], p),
        "BIO_new_socket": ([ctypes.c_int, ctypes.c_int], p),
        "BIO_write": ([p, ctypes.c_char_p, ctypes.c_int], ctypes.c_int),
        "BIO_ctrl": ([p, ctypes.c_int, ctypes.c_long, p], ctypes.c_long),
        "SSL_set_bio": ([p, p, p], None),
        "SSL_ctrl": ([p, ctypes.c_int, ctypes.c_long, p], ctypes.c_long),
        "SSL_set_alpn_protos": ([p, ctypes.c_char_p, ctypes.c_uint], ctypes.c_int),
        "SSL_connect": ([p], ctypes.c_int), "SSL_accept": ([p], ctypes.c_int),
        "SSL_do_handshake": ([p], ctypes.c_int),
        "SSL_key_update": ([p, ctypes.c_int], ctypes.c_int),
        "SSL_get_error": ([p, ctypes.c_int], ctypes.c_int),
        "SSL_version": ([p], ctypes.c_int),
        "SSL_write": ([p, ctypes.c_char_p, ctypes.c_int], ctypes.c_int),
        "SSL_read": ([p, ctypes.c_char_p, ctypes.c_int], ctypes.c_int),
    }
    for function, (arguments, result) in signatures.items():
        getattr(lib, function).argtypes = arguments
        getattr(lib, function).restype = result
    return lib


_lib = None


def libssl():
    global _lib
    if _lib is None:
        _lib = _load()
    return _lib


class KeyUpdatePeer:
    """One TLS 1.3 connection over `sock` (connected; made non-blocking), client or server side.

    The handshake runs in the constructor; then flood() sends KeyUpdate requests, never reading,
    until read() is called.
    """

    def __init__(self, sock: socket.socket, *, server: bool = False, server_name: str = "",
                 alpn: bytes = b"", cert: str = "", key: str = ""):
        lib = libssl()
        self.sock = sock
        self.closed_by_peer = False  # flood() ended because the other side closed
        self.ctx = lib.SSL_CTX_new(lib.TLS_server_method() if server else lib.TLS_client_method())
        self.ssl = None
        if not self.ctx:
            raise OSError("SSL_CTX_new failed")
        lib.SSL_CTX_ctrl(self.ctx, _SSL_CTRL_SET_MIN_PROTO_VERSION, _TLS1_3_VERSION, None)
        if server and (lib.SSL_CTX_use_certificate_chain_file(self.ctx, cert.encode()) != 1
                       or lib.SSL_CTX_use_PrivateKey_file(self.ctx, key.encode(),
                                                          _SSL_FILETYPE_PEM) != 1):
            self.close()
            raise OSError("cannot load the certificate")
        self.ssl = lib.SSL_new(self.ctx)
        self._incoming = lib.BIO_new(lib.BIO_s_mem())  # owned by self.ssl from SSL_set_bio on
        self._at_end = False  # the socket's end was read: nothing more to drain
        lib.SSL_set_bio(self.ssl, self._incoming, lib.BIO_new_socket(sock.fileno(), _BIO_NOCLOSE))
        if server_name:
            self._name = ctypes.c_char_p(server_name.encode())
            lib.SSL_ctrl(self.ssl, _SSL_CTRL_SET_TLSEXT_HOSTNAME, 0,
                         ctypes.cast(self._name, ctypes.c_void_p))
        if alpn:
            wire = bytes([len(alpn)]) + alpn
            lib.SSL_set_alpn_protos(self.ssl, wire, len(wire))
        sock.setblocking(False)
        handshake = lib.SSL_accept if server else lib.SSL_connect
        if not self._drive(lambda: handshake(self.ssl), 10):
            self.close()
            raise OSError("TLS handshake timed out")
        if lib.SSL_version(self.ssl) != _TLS1_3_VERSION:
            self.close()
            raise OSError("not TLS 1.3: no KeyUpdate")

    def write(self, data: bytes):
        """Sends application data."""
        if not self.try_write(data, 10):
            raise OSError("SSL_write timed out")

    def try_write(self, data: bytes, patience: float) -> bool:
        """Sends application data; False when the socket stayed unready for `patience` seconds
        (then call it again with the same `data`, after reading if need be)."""
        return self._drive(lambda: libssl().SSL_write(self.ssl, data, len(data)), patience)

    def read(self, patience: float) -> bytes:
        """Application data, after whatever handshake messages came first; b"" when none came
        for `patience` seconds."""
        buffer = ctypes.create_string_buffer(1 << 16)
        got = 0

        def step():
            nonlocal got
            got = libssl().SSL_read(self.ssl, buffer, len(buffer))
            return got
        return buffer.raw[:got] if self._drive(step, patience) else b""

    def flood(self, count: int, stall: float = 2.0) -> int:
        """Sends up to `count` KeyUpdate requests; stops early once the other side has taken
        nothing for `stall` seconds (it stopped reading) or has closed the connection (a
        timeout of its own). Returns how many were sent whole."""
        lib = libssl()
        sent = 0
        while sent < count:
            if lib.SSL_key_update(self.ssl, _SSL_KEY_UPDATE_REQUESTED) != 1:
                raise OSError("SSL_key_update failed")
            try:
                if not self._drive(lambda: lib.SSL_do_handshake(self.ssl), stall, drain=False):
                    return sent
            except OSError:
                self.closed_by_peer = True
                return sent
            sent += 1
        return sent

    def _drive(self, step, patience: float, drain: bool = True) -> bool:
        """Calls `step` (an SSL call) until it succeeds (> 0); False when nothing came in and the
        socket stayed unwritable for `patience` seconds. While it waits to write it takes in
        what arrives, unless `drain` is False (a flood, which never reads)."""
        lib = libssl()
        while True:
            result = step()
            if result > 0:
                return True
            error = lib.SSL_get_error(self.ssl, result)
            if error == _SSL_ERROR_WANT_READ:
                readable, writable = select.select([self.sock], [], [], patience)[:2]
            elif error == _SSL_ERROR_WANT_WRITE:
                drained = [self.sock] if drain and not self._at_end else []
                readable, writable = select.select(drained, [self.sock], [], patience)[:2]
            else:
                raise OSError(f"TLS failed (SSL error {error})")
            if readable:
                self._take_in()
            if not readable and not writable:
                return False

    def _take_in(self):
        """Moves what the socket holds into the incoming BIO; at the end, lets OpenSSL see it."""
        lib = libssl()
        try:
            data = self.sock.recv(1 << 16)
        except BlockingIOError:
            return
        if data:
            lib.BIO_write(self._incoming, data, len(data))
        else:
            self._at_end = True
            lib.BIO_ctrl(self._incoming, _BIO_C_SET_BUF_MEM_EOF_RETURN, 0, None)

    def close(self):
        lib = libssl()
        if self.ssl:
            lib.SSL_free(self.ssl)
            self.ssl = None
        if self.ctx:
            lib.SSL_CTX_free(self.ctx)
            self.ctx = None
