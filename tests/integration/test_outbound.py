"""The SSRF-guarded client on real loopback sockets: the DNS-rebinding guard
(connect only to the address that passed the check) and TLS SNI and host-name
verification, through the public httpx/httpcore extension points."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from memoai.platform.outbound import AllowList, check_url, safe_client
from tests.support.services import unavailable

pytestmark = pytest.mark.integration


class _Hits(BaseHTTPRequestHandler):
    hits: list[str]

    def log_message(self, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.hits.append(self.headers.get("host", ""))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()


def _serve(address: str, port: int, tls: ssl.SSLContext | None = None) -> tuple[Any, list[str]]:
    hits: list[str] = []
    handler = type("Handler", (_Hits,), {"hits": hits})
    server = ThreadingHTTPServer((address, port), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, hits


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, list[str]], list[str]]:
    """Scripted DNS for made-up names: each lookup of a name takes its next answer."""
    real = socket.getaddrinfo
    scripts: dict[str, list[str]] = {}
    asked: list[str] = []

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in scripts:
            asked.append(host)
            answers = scripts[host]
            address = answers.pop(0) if len(answers) > 1 else answers[0]
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    def script(name: str, answers: list[str]) -> list[str]:
        scripts[name] = list(answers)
        return asked

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return script


def _two_servers_on_one_port() -> tuple[int, list[str], list[str], list[Any]]:
    first, good = _serve("127.0.0.1", 0)
    port = first.server_address[1]
    try:
        second, evil = _serve("127.0.0.2", port)
    except OSError as exc:
        first.shutdown()
        pytest.skip(f"cannot listen on 127.0.0.2:{port}: {exc}")
    return port, good, evil, [first, second]


def test_a_name_rebound_after_registration_is_refused_at_connect_time(
    resolver: Callable[[str, list[str]], list[str]],
) -> None:
    port, good, evil, servers = _two_servers_on_one_port()
    try:
        allow = AllowList(["127.0.0.1"])  # the admin opened this address, not .2
        url = f"http://rebind.test:{port}/hook"
        resolver("rebind.test", ["127.0.0.1", "127.0.0.2"])
        check_url(url, allow)  # registration: the name still points at 127.0.0.1
        with safe_client(allow, timeout=3) as client, pytest.raises(httpx.ConnectError):
            client.post(url, content=b"{}")  # now it points at 127.0.0.2
        assert good == [] and evil == []
    finally:
        for server in servers:
            server.shutdown()


def test_the_socket_goes_to_the_checked_address_not_a_second_lookup(
    resolver: Callable[[str, list[str]], list[str]],
) -> None:
    port, good, evil, servers = _two_servers_on_one_port()
    try:
        allow = AllowList(["127.0.0.1"])
        # The first lookup (the check) says .1; any later lookup would say .2.
        asked = resolver("rebind.test", ["127.0.0.1", "127.0.0.2"])
        with safe_client(allow, timeout=3) as client:
            response = client.post(f"http://rebind.test:{port}/hook", content=b"{}")
        assert response.status_code == 204
        assert good == [f"rebind.test:{port}"]  # the Host header is still the name
        assert evil == []
        assert asked == ["rebind.test"]  # resolved once, then connected by address
    finally:
        for server in servers:
            server.shutdown()


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for hook.test signed by it (openssl CLI)."""
    if shutil.which("openssl") is None:
        unavailable("openssl", "not installed")
    ca_key, ca, key, csr, cert = (
        directory / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem")
    )
    ext = directory / "srv.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:hook.test\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    run = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
         str(ca), "-days", "2", "-subj", "/CN=memoai test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
         "-subj", "/CN=hook.test"],
        ["x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext)],
    ]  # fmt: skip
    for args in run:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    return ca, cert, key


def test_tls_sends_the_host_name_as_sni_and_verifies_the_certificate_against_it(
    resolver: Callable[[str, list[str]], list[str]], tmp_path: Path
) -> None:
    ca, cert, key = _certificates(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment,func-returns-value]
    server, hits = _serve("127.0.0.1", 0, server_tls)
    port = server.server_address[1]
    client_tls = ssl.create_default_context(cafile=str(ca))
    allow = AllowList(["127.0.0.1"])
    try:
        resolver("hook.test", ["127.0.0.1"])
        resolver("other.test", ["127.0.0.1"])
        with safe_client(allow, timeout=5, verify=client_tls) as client:
            response = client.post(f"https://hook.test:{port}/hook", content=b"{}")
            assert response.status_code == 204
            assert sni[-1] == "hook.test"  # SNI is the name, though we dialled an IP
            assert hits == [f"hook.test:{port}"]
            # Same address, another name: the certificate does not match it.
            with pytest.raises(httpx.ConnectError, match=r"(?i)certificate|hostname"):
                client.post(f"https://other.test:{port}/hook", content=b"{}")
        assert len(hits) == 1
    finally:
        server.shutdown()
