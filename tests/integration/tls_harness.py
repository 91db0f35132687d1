# TLS pieces for the integration tests: a small PKI made at test time with the `openssl` command
# line tool (nothing secret is committed), and client helpers built on Python's ssl module.
from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

from harness import DEFAULT_TIMEOUT, HOST


def have_openssl() -> bool:
    return shutil.which("openssl") is not None


def _openssl(*args: str, cwd: Path):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


class Pki:
    """A CA and certificates it signed, as PEM files in `directory`.

    Each leaf is `NAME.pem` + `NAME.key` (mode 0600) for the DNS names given to leaf().
    """

    def __init__(self, directory: str):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = str(self.dir / "ca.pem")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
                 "-subj", "/CN=ringlb test CA", cwd=self.dir)

    def leaf(self, name: str, dns_names: list[str], days: int = 30) -> tuple[str, str]:
        """Signs a certificate for `dns_names`; days=-1 makes one that has already expired."""
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={dns_names[0]}", cwd=self.dir)
        (self.dir / f"{name}.ext").write_text(
            "subjectAltName=" + ",".join(f"DNS:{n}" for n in dns_names) + "\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", str(days),
                 "-extfile", f"{name}.ext", cwd=self.dir)
        os.chmod(self.dir / f"{name}.key", 0o600)
        return str(self.dir / f"{name}.pem"), str(self.dir / f"{name}.key")


def client_context(pki: Pki | None = None, *, alpn=None, minimum=None, maximum=None,
                   verify: bool = True) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify and pki is not None:
        context.load_verify_locations(pki.ca)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(alpn)
    if minimum is not None:
        context.minimum_version = minimum
    if maximum is not None:
        context.maximum_version = maximum
    return context


def tls_connect(port: int, context: ssl.SSLContext, server_name: str | None,
                timeout: float = DEFAULT_TIMEOUT) -> ssl.SSLSocket:
    """A TLS connection to 127.0.0.1:port with SNI `server_name` (None: no SNI)."""
    raw = socket.create_connection((HOST, port), timeout=timeout)
    try:
        sock = context.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise
    sock.settimeout(timeout)
    return sock


def peer_names(sock: ssl.SSLSocket) -> list[str]:
    """The DNS names of the certificate the server presented."""
    der = sock.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    text = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=pem,
                          capture_output=True, text=True, check=True).stdout
    return [part.strip()[4:] for part in text.split("\n", 1)[1].split(",") if "DNS:" in part]


def recv_all_tls(sock: ssl.SSLSocket) -> bytes:
    """Everything until the server's close_notify (an EOF without one raises)."""
    chunks = []
    while True:
        data = sock.recv(1 << 16)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def server_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
