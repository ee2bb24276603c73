"""The SSRF guard's client over TLS, against a real local https server: the guard connects to
the address it checked while TLS still sends the host name (SNI, Host) and verifies the
certificate for that name — pinning the address does not weaken TLS. And the process's own pool
(scrm/http_pool.py) over TLS: the name sent and verified, as httpx's client did."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scrm import http
from scrm.http_pool import Pool
from scrm.outbound import GuardedTransport, OutboundRefused


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for the name ``localhost`` only (not for 127.0.0.1), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def https_server(tmp_path) -> Iterator[tuple[int, Path, dict[str, list[str]]]]:
    cert_path, key_path = self_signed(tmp_path)
    seen: dict[str, list[str]] = {"sni": [], "host": []}
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, server_name, ctx: seen["sni"].append(server_name or "")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the pools expect

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen["host"].append(self.headers.get("Host", ""))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1]), cert_path, seen
    server.shutdown()
    server.server_close()


def guarded_client(cert_path: Path) -> httpx.Client:
    trust = ssl.create_default_context(cafile=str(cert_path))
    return httpx.Client(transport=GuardedTransport(ssl_context=trust), trust_env=False)


def post(client: httpx.Client, url: str) -> httpx.Response:
    return http.request("POST", url, content=b"{}", client=client, idempotent=False)


def test_the_guard_keeps_the_host_name_for_tls(settings, https_server):
    port, cert_path, seen = https_server
    settings.SCRM_OUTBOUND_ALLOW_HOSTS = ["localhost"]
    with guarded_client(cert_path) as client:
        assert post(client, f"https://localhost:{port}/hook").status_code == 200
    assert seen["sni"] == ["localhost"]
    assert seen["host"] == [f"localhost:{port}"]


def test_the_certificate_is_still_verified_for_the_name(settings, https_server):
    port, cert_path, _ = https_server
    # 127.0.0.1 may be called, but the certificate is for "localhost" only: TLS refuses it
    settings.SCRM_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    with guarded_client(cert_path) as client, pytest.raises(httpx.ConnectError) as failed:
        client.post(f"https://127.0.0.1:{port}/hook", content=b"{}")
    assert "CERTIFICATE_VERIFY_FAILED" in str(failed.value)


def test_the_guard_refuses_the_name_when_it_resolves_inside(settings, https_server):
    port, cert_path, seen = https_server
    settings.SCRM_OUTBOUND_ALLOW_HOSTS = []
    with guarded_client(cert_path) as client, pytest.raises(OutboundRefused):
        post(client, f"https://localhost:{port}/hook")
    assert seen["sni"] == []  # no connection was made


def test_the_process_pool_sends_the_name_and_verifies_the_certificate(https_server, monkeypatch):
    port, cert_path, seen = https_server
    # Given the certificate trusted as httpx trusts one (SSL_CERT_FILE)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    with Pool(timeout=httpx.Timeout(5.0)) as pool:
        # When the pool calls the name the certificate is for, twice
        for _ in range(2):
            assert http.send(pool, "POST", f"https://localhost:{port}/hook").status_code == 200
        # Then TLS was told the name, once: the second call reused the kept-alive connection
        assert seen["sni"] == ["localhost"]
        assert seen["host"] == [f"localhost:{port}"] * 2
        # And an address the certificate does not name is refused before anything is sent
        with pytest.raises(http.NotSent):
            http.send(pool, "POST", f"https://127.0.0.1:{port}/hook")
    assert len(seen["host"]) == 2
