"""Dockerfiles: pinned bases, multi-stage, non-root uid 1000, health checks, no baked secrets."""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.tools import INFRA, REPO

DOCKER = INFRA / "docker"
IMAGES = {"api": "api", "worker": "worker", "web": "web"}
# name:exact.version[-variant] or name@sha256:digest (optionally both).
_PINNED = re.compile(r"^[\w./-]+(:(?P<tag>[\w.-]+))?(@sha256:[0-9a-f]{64})?$")


def _final_stage(text: str) -> str:
    return text.replace("\\\n", " ").rsplit("\nFROM ", 1)[-1]


@pytest.mark.parametrize("service", list(IMAGES))
def test_dockerfile_is_pinned_multistage_and_non_root(service: str) -> None:
    text = (DOCKER / f"{service}.Dockerfile").read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(bases) >= 2, "multi-stage: build tools stay out of the runtime image"
    for base in bases:
        match = _PINNED.match(base)
        assert match, base
        digest = "@sha256:" in base
        tag = match.group("tag") or ""
        # An exact release (3.11.14-slim-trixie), never a moving tag like 3.11-slim.
        assert digest or re.match(r"^\d+\.\d+\.\d+(-[\w.-]+)?$", tag), f"{base} is not pinned"
        assert "slim" in base
    final = _final_stage(text)
    assert re.search(r"useradd[^\n]*--uid 1000", final)
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert users
    assert users[-1] in ("1000", "1000:1000", "memoai")
    health = re.search(r"^HEALTHCHECK\s+(.+)$", final, re.M)
    assert health
    assert f'"memoai-healthcheck", "{service}"' in health.group(1)
    assert re.search(rf'^CMD \["memoai", "{service}"\]', final, re.M)
    for key, _value in re.findall(
        r"([A-Z_]+)=(\S+)", " ".join(re.findall(r"^(?:ENV|ARG) (.+)$", final, re.M))
    ):
        assert not re.search(r"SECRET|PASSWORD|API_KEY|TOKEN", key), f"{key} baked into the image"


def test_worker_image_has_the_postgres_client_for_backups() -> None:
    assert "postgresql-client" in (DOCKER / "worker.Dockerfile").read_text()


def test_build_context_is_an_allow_list() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed <= {"pyproject.toml", "requirements.lock", "package.json", "package-lock.json",
                       "README.md", "shared", "services", "config", "examples/memos",
                       "infra/docker/healthcheck.py"}  # fmt: skip
    for dockerfile in ("api", "worker", "web"):
        text = (DOCKER / f"{dockerfile}.Dockerfile").read_text()
        for copied in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+?) \S+$", text, re.M):
            for source in copied.split():
                assert source in allowed, (dockerfile, source)


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(
            200 if self.path in ("/health", "/metrics", "/flower/healthcheck") else 404
        )
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _probe(service: str, **env: str) -> int:
    return subprocess.run(
        [sys.executable, str(DOCKER / "healthcheck.py"), service],
        env={**os.environ, **env},
        timeout=20,
        check=False,
    ).returncode


def test_health_probe_answers_for_each_service(http_port: int, tmp_path: Path) -> None:
    port = str(http_port)
    assert _probe("api", API_PORT=port) == 0
    assert _probe("web", WEB_PORT=port) == 0
    assert _probe("worker", WORKER_METRICS_PORT=port) == 0
    assert _probe("flower", FLOWER_PORT=port) == 0
    assert _probe("api", API_PORT="1") == 1
    schedule = tmp_path / "celerybeat-schedule"
    assert _probe("beat", DATA_DIR=str(tmp_path)) == 1
    schedule.write_bytes(b"")
    assert _probe("beat", DATA_DIR=str(tmp_path)) == 0
    old = time.time() - 3600
    os.utime(schedule, (old, old))
    assert _probe("beat", DATA_DIR=str(tmp_path)) == 1
