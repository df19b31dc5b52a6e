"""The nginx configuration passes `nginx -t` and states the security and routing rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.ops.nginx_support import NGINX_DIR, nginx_test, prepare_prefix
from tests.ops.tools import require, run


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
