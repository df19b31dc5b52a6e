"""The nginx configuration passes `nginx -t` and states the security and routing rules;
run for real in front of a real API, it overwrites forged client addresses and keeps
metrics and API docs off the public port."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.nginx_support import (
    NGINX_DIR,
    nginx_test,
    prepare_prefix,
    running_nginx,
    serve_locally,
)
from tests.ops.tools import require, run
from tests.support.auth import ADMIN_PASSWORD, ADMIN_USERNAME, auth_overrides, bearer
from tests.support.services import free_port
from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require("nginx")
    require("openssl")
    return prepare_prefix(tmp_path_factory.mktemp("nginx"))


@pytest.fixture(scope="module")
def dumped(prefix: Path) -> str:
    """The whole configuration as nginx itself read it (`nginx -T`, includes expanded)."""
    result = nginx_test(prefix, dump=True)
    assert result.returncode == 0, result.stderr
    return re.sub(r"#[^\n]*", "", result.stdout)


def test_nginx_t_passes_with_the_generated_certificate(prefix: Path) -> None:
    result = nginx_test(prefix)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    assert "test is successful" in result.stderr


def test_nginx_t_fails_when_an_upstream_cannot_be_resolved(prefix: Path) -> None:
    # The check above is only meaningful if nginx really resolves the names.
    hosts = prefix / "hosts"
    original = hosts.read_text()
    hosts.write_text("127.0.0.1 localhost web flower\n")
    try:
        result = nginx_test(prefix)
    finally:
        hosts.write_text(original)
    assert result.returncode != 0
    assert 'host not found in upstream "api:8000"' in result.stderr


def test_tls_is_modern_and_http_redirects(dumped: str) -> None:
    assert re.search(r"ssl_protocols\s+TLSv1\.2 TLSv1\.3;", dumped)
    ciphers = re.search(r"ssl_ciphers\s+([^;]+);", dumped)
    assert ciphers
    assert all(
        c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c)
        for c in ciphers.group(1).split(":")
    )
    assert re.search(r"listen 80 default_server;", dumped)
    assert "return 301 https://$host$request_uri;" in dumped
    assert re.search(r'Strict-Transport-Security "max-age=\d{8,}', dumped)
    for header in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert f"add_header {header}" in dumped


def test_routes_and_upstreams(dumped: str) -> None:
    assert re.search(r"location /api/ \{[^}]*proxy_pass http://memoai_api;", dumped)
    assert re.search(r"location / \{[^}]*proxy_pass http://memoai_web;", dumped)
    flower = re.search(r"location /flower/ \{([^}]*)\}", dumped)
    assert flower
    assert "auth_basic_user_file htpasswd/flower;" in flower.group(1)
    assert "proxy_pass http://memoai_flower;" in flower.group(1)
    for name, host in (("memoai_api", "api:8000"), ("memoai_web", "web:3000")):
        block = re.search(rf"upstream {name} \{{([^}}]*)\}}", dumped)
        assert block
        assert host in block.group(1)
        assert re.search(r"keepalive \d+;", block.group(1))
    assert re.search(r"location = /metrics \{\s*return 404;", dumped)


def test_limits_compression_caching_and_request_ids(dumped: str) -> None:
    assert re.search(r"client_max_body_size 2m;", dumped)
    # Document uploads: max_upload_size (5 MB) plus multipart framing, to the API.
    upload = re.search(r"location = /api/v1/documents/extract \{([^}]*)\}", dumped)
    assert upload
    assert "client_max_body_size 6m;" in upload.group(1)
    assert "proxy_pass http://memoai_api;" in upload.group(1)
    assert re.search(r"limit_req_zone \$binary_remote_addr zone=memoai_api:\d+m rate=", dumped)
    assert re.search(r"limit_req zone=memoai_api burst=\d+", dumped)
    assert re.search(r"gzip on;", dumped)
    assert re.search(r"location /static/ \{[^}]*expires 1y;", dumped)
    assert "proxy_set_header X-Request-ID $memoai_request_id;" in dumped
    # A sane client id passes through; otherwise nginx makes one.
    assert re.search(
        r"map \$http_x_request_id \$memoai_request_id \{[^}]*default\s+\$request_id;", dumped
    )
    assert "proxy_set_header Connection $memoai_connection;" in dumped  # keep-alive upstream


def test_client_addresses_are_overwritten_never_appended(dumped: str) -> None:
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in dumped
    assert "proxy_set_header X-Real-IP $remote_addr;" in dumped
    assert "$proxy_add_x_forwarded_for" not in dumped
    assert re.search(r"location ~ \^/\(metrics\|docs\|redoc\|openapi\\\.json\)", dumped)


def test_generated_certificate_is_valid_for_the_host(prefix: Path) -> None:
    text = run("openssl", "x509", "-in", prefix / "certs" / "fullchain.pem", "-noout", "-text")
    assert text.returncode == 0
    assert "DNS:memoai.test" in text.stdout
    assert "DNS:localhost" in text.stdout
    assert "TLS Web Server Authentication" in text.stdout
    assert (prefix / "certs" / "privkey.pem").stat().st_mode & 0o077 == 0
    # A second run keeps the existing pair (a real certificate is never overwritten).
    before = (prefix / "certs" / "fullchain.pem").read_bytes()
    again = run("bash", NGINX_DIR / "gen-cert.sh", prefix / "certs", "other.test")
    assert "already has a certificate" in again.stdout
    assert (prefix / "certs" / "fullchain.pem").read_bytes() == before


# ---------------------------------------------------------------- nginx running


class Edge:
    def __init__(self, stack: Stack, https: int) -> None:
        self.stack = stack
        self.url = f"https://127.0.0.1:{https}"

    def client(self) -> httpx.Client:
        # The generated certificate is self-signed; what is under test is routing.
        return httpx.Client(base_url=self.url, verify=False, timeout=15)  # noqa: S501


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """Real nginx (the shipped configuration) in front of a real api and web."""
    require("nginx")
    require("openssl")
    root = tmp_path_factory.mktemp("edge")
    env = auth_overrides(
        LOGIN_ATTEMPTS_PER_HOUR="2",
        RATE_LIMIT_IP_MULTIPLIER="5",  # 10 failed logins per address, below nginx's burst
        BCRYPT_ROUNDS="4",
    )  # FORWARDED_ALLOW_IPS unset: the API trusts 127.0.0.1, where nginx connects from
    with running_stack(root, "sqlite", services=("api", "web"), **env) as stack:
        prefix = prepare_prefix(root)
        http, https = free_port(), free_port()
        serve_locally(
            prefix,
            http=http,
            https=https,
            upstreams={
                "api": int(stack.env["API_PORT"]),
                "web": int(stack.env["WEB_PORT"]),
                "flower": free_port(),
            },
        )
        with running_nginx(prefix, http):
            yield Edge(stack, https)


def test_metrics_and_api_docs_are_not_on_the_public_port(edge: Edge) -> None:
    hidden = ["/metrics", "/metrics/", "/docs", "/docs/oauth2-redirect", "/redoc",
              "/openapi.json", "/metrics?format=text"]  # fmt: skip
    with edge.client() as c:
        for path in hidden:
            assert c.get(path).status_code == 404, path
        # Routing itself works: the API and the web UI answer through nginx.
        assert c.get("/api/v1/config/public").status_code == 200
        assert c.get("/").status_code == 200
    # The services do serve them, on the internal network (Prometheus, operators).
    for path in ("/metrics", "/docs", "/openapi.json"):
        assert httpx.get(edge.stack.api_url + path, timeout=5).status_code == 200, path
    assert httpx.get(edge.stack.web_url + "/metrics", timeout=5).status_code == 200


def _events(stack: Stack, admin: dict[str, str]) -> list[dict[str, Any]]:
    with stack.client() as c:
        response = c.get("/admin/auth/events", params={"limit": "200"}, headers=admin)
    assert response.status_code == 200, response.text
    return list(response.json()["data"]["items"])


def test_forged_forwarded_for_through_nginx_is_overwritten(edge: Edge) -> None:
    """25 failed logins, each claiming another address: the API's limit still counts
    them as one client, and the audit log records the real address."""
    admin = bearer(edge.stack, ADMIN_USERNAME, ADMIN_PASSWORD)  # directly, not via nginx
    forged = [f"203.0.113.{i}" for i in range(25)]
    answers = []
    with edge.client() as c:
        for i, ip in enumerate(forged):
            answers.append(
                c.post(
                    "/api/v1/auth/login",
                    json={"username": f"sprayed{i}", "password": "Wrong-passw0rd!"},
                    headers={"X-Forwarded-For": ip, "X-Real-IP": ip, "Forwarded": f"for={ip}"},
                )
            )
    codes = [a.status_code for a in answers]
    assert codes[:10] == [401] * 10, codes
    assert codes[10:] == [429] * 15, codes
    # The 11th is the API's own per-address limit (nginx's flood guard has no scope).
    assert answers[10].json()["errors"][0]["details"]["scope"] == "login"
    failed = [e for e in _events(edge.stack, admin) if e["event_type"] == "login_failed"]
    assert len(failed) == 10
    assert {e["ip_address"] for e in failed} == {"127.0.0.1"}
    assert not {e["username"] for e in failed} - {f"sprayed{i}" for i in range(10)}
