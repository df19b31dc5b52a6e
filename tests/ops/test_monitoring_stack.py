"""api, worker, web and Flower as separate processes, scraped by a real Prometheus.

Every target must be up, the alert rules must load, and every metric name that
a Grafana dashboard or an alert rule uses must really be exported: a renamed
metric breaks this test instead of silently blanking a panel or an alert.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fakes.anthropic_server import FakeAnthropic
from tests.ops.promql import base_name, dashboard_expressions, metric_names, rule_expressions
from tests.ops.tools import INFRA, require
from tests.support.services import delete_redis_prefix, free_port, redis_url
from tests.support.stack import Stack, claude_overrides, running_stack

pytestmark = pytest.mark.integration

PROM_CONFIG = INFRA / "prometheus" / "prometheus.yml"


# The web service is built in parallel; until it is part of the build the stack
# runs without it and the `web` job is left out of the scrape configuration.
HAS_WEB = importlib.util.find_spec("memoai_web.app") is not None
SERVICES = ("api", "worker", "web") if HAS_WEB else ("api", "worker")
JOBS = {"api", "worker", "flower", "prometheus"} | ({"web"} if HAS_WEB else set())


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, fake_anthropic: FakeAnthropic
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("monitoring")
    # The fake is shared by the test process: start from its defaults, whatever an
    # earlier file scripted (errors, latency, refusals).
    fake_anthropic.reset()
    # Redis as the broker (with the SQLite database): Flower's task and worker
    # metrics come from Celery events, which need a broker with fan-out.
    prefix = f"memoai-test-{uuid.uuid4().hex[:10]}"
    overrides = claude_overrides(
        fake_anthropic.url,
        REDIS_URL=redis_url(),
        REDIS_KEY_PREFIX=prefix,
        CELERY_QUEUE=prefix,
    )
    try:
        with running_stack(root, "sqlite", services=SERVICES, **overrides) as s:
            flower_port = free_port()
            s.env["FLOWER_PORT"] = str(flower_port)
            s.start_process(
                "flower", f"--port={flower_port}", "--url_prefix=flower", "--address=127.0.0.1"
            )
            _wait(f"http://127.0.0.1:{flower_port}/flower/healthcheck", s, "flower")
            yield s
    finally:
        delete_redis_prefix(prefix)


def _wait(url: str, stack: Stack, name: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{name} not ready:\n{stack.log(name)[-3000:]}")


def _test_config(stack: Stack, path: Path) -> None:
    """The production prometheus.yml with each job's discovery pointed at the local processes.

    Job names, metrics paths and the rule file stay exactly as shipped.
    """
    config: dict[str, Any] = yaml.safe_load(PROM_CONFIG.read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(INFRA / "prometheus" / "alerts.yml")]
    targets = {
        "api": stack.api_url,
        "web": stack.web_url,
        "worker": stack.worker_metrics_url.removesuffix("/metrics"),
        "flower": f"http://127.0.0.1:{stack.env['FLOWER_PORT']}",
        "prometheus": f"http://127.0.0.1:{stack.env['PROMETHEUS_PORT']}",
    }
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] in JOBS]
    for job in config["scrape_configs"]:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [targets[job["job_name"]].removeprefix("http://")]}]
    path.write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require("prometheus")
    root = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    stack.env["PROMETHEUS_PORT"] = str(port)
    config = root / "prometheus.yml"
    _test_config(stack, config)
    log = (root / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((root / "prometheus.log").read_text()[-3000:])
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _api(prometheus: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{prometheus}/api/v1/{path}", params=params, timeout=5)
    response.raise_for_status()
    return response.json()["data"]


def _exercise(stack: Stack) -> None:
    """Real traffic: an evaluation through the Claude SDK (fake server), pages, a 404."""
    session = stack.new_session()
    memo = "We propose moving the weekly report to Thursdays. " * 20
    evaluation = stack.submit(session, memo)
    assert stack.wait_final(session, evaluation, timeout=60)["status"] == "completed"
    if HAS_WEB:
        httpx.get(f"{stack.web_url}/", timeout=5)
    httpx.get(f"{stack.api_url}/api/v1/no-such-route", timeout=5)


def test_prometheus_scrapes_every_service_and_finds_every_metric_in_use(
    stack: Stack, prometheus: str
) -> None:
    _exercise(stack)
    wanted_jobs = JOBS
    deadline = time.monotonic() + 45
    needed = {
        base_name(name)
        for exprs in [*dashboard_expressions().values(), rule_expressions()]
        for expr in exprs
        for name in metric_names(expr)
    }
    assert len(needed) >= 20
    while True:
        targets = _api(prometheus, "targets")["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        exported = {base_name(n) for n in _api(prometheus, "label/__name__/values")}
        missing = needed - exported
        if set(health) == wanted_jobs and set(health.values()) == {"up"} and not missing:
            break
        if time.monotonic() > deadline:
            errors = {t["labels"]["job"]: t.get("lastError") for t in targets}
            pytest.fail(f"targets {health} {errors}; metrics never exported: {sorted(missing)}")
        time.sleep(1)

    rules = _api(prometheus, "rules")["groups"]
    loaded = {r["name"]: r for g in rules for r in g["rules"]}
    assert {"WorkersDown", "HighErrorRate", "BackupTooOld", "QueueBacklog"} <= set(loaded)
    assert all(r["health"] != "err" for r in loaded.values()), loaded
    # With every service up, the availability alerts go quiet (they may be pending
    # from an evaluation that ran before the first scrape).
    watched = {"WorkersDown", "ApiDown"} | ({"WebDown"} if HAS_WEB else set())
    deadline = time.monotonic() + 15
    while True:
        active = [
            a for a in _api(prometheus, "alerts")["alerts"] if a["labels"]["alertname"] in watched
        ]
        if not active:
            break
        assert time.monotonic() < deadline, active
        time.sleep(1)


def test_state_metrics_are_the_same_whichever_service_answers(stack: Stack) -> None:
    api = httpx.get(f"{stack.api_url}/metrics", timeout=5).text
    worker = httpx.get(stack.worker_metrics_url, timeout=5).text

    def value(text: str, name: str) -> str:
        line = next(row for row in text.splitlines() if row.startswith((name + " ", name + "{")))
        return line.rsplit(" ", 1)[1]

    assert value(api, "memoai_queue_depth") == value(worker, "memoai_queue_depth")
    assert value(api, 'memoai_active_sessions{kind="anonymous"}') == value(
        worker, 'memoai_active_sessions{kind="anonymous"}'
    )
    # Backups belong to the worker (it writes them); none yet means +Inf, which alerts.
    assert value(worker, "memoai_backup_age_seconds") == "+Inf"
    assert "memoai_backup_age_seconds" not in api


# ------------------------------------------------------------------ nginx in front


@pytest.fixture(scope="module")
def edge(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The shipped nginx configuration serving the running stack.

    Only port numbers change (listen 80/443 and the upstreams' ports become free
    local ports); names still resolve through the namespace's /etc/hosts.
    """
    from tests.ops.nginx_support import namespace_command, prepare_prefix

    require("nginx")
    prefix = prepare_prefix(tmp_path_factory.mktemp("edge"))
    http_port, https_port = free_port(), free_port()
    conf = prefix / "nginx.conf"
    text = conf.read_text()
    ports = {
        "listen 80 default_server;": f"listen 127.0.0.1:{http_port} default_server;",
        "listen [::]:80 default_server;": "",
        "listen 443 ssl http2 default_server;": (
            f"listen 127.0.0.1:{https_port} ssl http2 default_server;"
        ),
        "listen [::]:443 ssl http2 default_server;": "",
        "server api:8000": f"server api:{stack.env['API_PORT']}",
        "server web:3000": f"server web:{stack.env['WEB_PORT']}",
        "server flower:5555": f"server flower:{stack.env['FLOWER_PORT']}",
        "resolver 127.0.0.11 valid=30s ipv6=off;": "",
    }
    for old, new in ports.items():
        assert old in text, old
        text = text.replace(old, new)
    conf.write_text(text)
    log = (prefix / "nginx.out").open("wb")
    user = " user root;" if os.geteuid() == 0 else ""
    proc = subprocess.Popen(
        # Workers as root only here: pytest's temporary directory is private to
        # its owner, so nginx's usual unprivileged user could not read htpasswd.
        namespace_command(prefix, "-g", f"'daemon off; pid {prefix}/nginx.pid;{user}'"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"https://127.0.0.1:{https_port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{http_port}/nginx-health", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((prefix / "nginx.out").read_text()) from None
                time.sleep(0.2)
        yield {
            "http": f"http://127.0.0.1:{http_port}",
            "https": base,
            "ca": str(prefix / "certs" / "fullchain.pem"),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _tls(edge: dict[str, Any]) -> Any:
    import ssl

    return ssl.create_default_context(cafile=edge["ca"])


def test_nginx_redirects_http_and_routes_api_with_security_headers(edge: dict[str, Any]) -> None:
    redirect = httpx.get(f"{edge['http']}/api/v1/config", timeout=5)
    assert redirect.status_code == 301
    assert redirect.headers["location"].startswith("https://")
    with httpx.Client(base_url=edge["https"], verify=_tls(edge), timeout=10) as client:
        response = client.post("/api/v1/sessions", headers={"X-Request-ID": "edge-test-42"})
        assert response.status_code == 201, response.text
        assert response.headers["x-request-id"] == "edge-test-42"
        assert response.json()["meta"]["request_id"] == "edge-test-42"
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]
        assert response.http_version in ("HTTP/1.1", "HTTP/2")
        # No id from the client: nginx makes one, and the API uses it.
        generated = client.post("/api/v1/sessions")
        assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
        assert generated.json()["meta"]["request_id"] == generated.headers["x-request-id"]
        assert client.get("/metrics").status_code == 404


def test_nginx_limits_the_body_and_answers_with_the_json_envelope(edge: dict[str, Any]) -> None:
    with httpx.Client(base_url=edge["https"], verify=_tls(edge), timeout=10) as client:
        response = client.post(
            "/api/v1/evaluations/submit",
            content=b'{"text_content": "' + b"a" * (3 * 1024 * 1024) + b'"}',
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    body = response.json()
    assert body["errors"][0]["code"] == "payload_too_large"
    assert body["meta"]["request_id"] == response.headers["x-request-id"]


def test_flower_is_behind_basic_auth(edge: dict[str, Any]) -> None:
    with httpx.Client(base_url=edge["https"], verify=_tls(edge), timeout=10) as client:
        assert client.get("/flower/healthcheck").status_code == 401
        ok = client.get("/flower/healthcheck", auth=("ops", "flower-test-password"))
        assert ok.status_code == 200
        assert client.get("/flower/", auth=("ops", "wrong")).status_code == 401


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_1_2_and_1_3_only(edge: dict[str, Any]) -> None:
    import socket
    import ssl
    from urllib.parse import urlsplit

    host, port = urlsplit(edge["https"]).hostname, urlsplit(edge["https"]).port
    assert host
    assert port

    def handshake(version: ssl.TLSVersion) -> str | None:
        context = ssl.create_default_context(cafile=edge["ca"])
        context.minimum_version = context.maximum_version = version
        try:
            with (
                socket.create_connection((host, port), timeout=5) as raw,
                context.wrap_socket(raw, server_hostname="localhost") as tls,
            ):
                return tls.version()
        except (ssl.SSLError, OSError):
            return None

    assert handshake(ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    assert handshake(ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert handshake(ssl.TLSVersion.TLSv1_1) is None
