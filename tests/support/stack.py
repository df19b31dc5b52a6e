"""Run the real `memoai` processes (api, worker, beat, web) for integration tests.

Each stack gets its own data directory, a copy of config/, free ports, and on
the Postgres variant its own database, Redis key prefix and Celery queue, so
stacks never see each other's work.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import delete_redis_prefix, free_port, postgres_database, redis_url

REPO = Path(__file__).resolve().parents[2]
MEMOS = REPO / "examples" / "memos"

# Variables from the developer's shell that would leak into the stack.
_SCRUB = (
    "DATABASE_URL", "REDIS_URL", "LLM_PROVIDER", "LLM_BASE_URL", "LLM_MODEL", "CLAUDE_API_KEY",
    "ANTHROPIC_API_KEY", "APP_ENV", "AUTH_ENABLED", "DEBUG_MODE", "CONFIG_DIR", "DATA_DIR",
    "API_PORT", "WEB_PORT", "API_URL", "WORKER_METRICS_PORT", "JWT_SECRET_KEY",
    "PROMETHEUS_MULTIPROC_DIR", "ADMIN_USERNAME", "ADMIN_PASSWORD", "REDIS_KEY_PREFIX",
    "RATE_LIMIT_PER_MINUTE", "SUBMISSIONS_PER_HOUR", "LOGIN_ATTEMPTS_PER_HOUR",
    "ADMIN_OPS_PER_HOUR", "CHAT_MESSAGES_PER_HOUR", "RATE_LIMIT_ENABLED", "SECURE_COOKIES",
    "HTTPS_ONLY", "BCRYPT_ROUNDS", "SESSION_TIMEOUT", "JWT_EXPIRATION_HOURS",
    "RETRIES_PER_HOUR", "FORWARDED_ALLOW_IPS", "WEBHOOK_SIGNING_SECRET",
)  # fmt: skip

BACKENDS = ("sqlite", "postgres")


def load_memos() -> list[dict[str, Any]]:
    manifest = json.loads((MEMOS / "manifest.json").read_text())
    for item in manifest:
        item["text"] = (MEMOS / item["file"]).read_text(encoding="utf-8")
    return manifest


class Stack:
    def __init__(self, root: Path, env: dict[str, str], backend: str) -> None:
        self.root = root
        self.env = env
        self.backend = backend
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.log_dir = root / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.api_url = f"http://127.0.0.1:{env['API_PORT']}"
        self.web_url = f"http://127.0.0.1:{env['WEB_PORT']}"
        self.worker_metrics_url = f"http://127.0.0.1:{env['WORKER_METRICS_PORT']}/metrics"
        self.config_dir = Path(env["CONFIG_DIR"])
        self.data_dir = Path(env["DATA_DIR"])

    # ------------------------------------------------------------ processes

    def memoai(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "memoai_cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def start(self, *names: str) -> Stack:
        for name in names:
            self.start_process(name)
        for name in names:
            self.wait_ready(name)
        return self

    def start_process(
        self, name: str, *extra: str, key: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start `memoai <name> <extra…>`; `key` names a second copy (e.g. "api-2")."""
        key = key or name
        log = (self.log_dir / f"{key}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "memoai_cli.main", name, *extra],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[key] = proc
        return proc

    def wait_ready(self, name: str, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}"
                )
            if self._is_ready(name):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{name} not ready after {timeout}s:\n{self.log(name)[-3000:]}")

    def _is_ready(self, name: str) -> bool:
        if name == "api":
            return _get_ok(f"{self.api_url}/health/ready")
        if name == "web":
            return _get_ok(f"{self.web_url}/health")
        if name == "worker":
            try:
                body = httpx.get(self.worker_metrics_url, timeout=1).text
            except httpx.HTTPError:
                return False
            return "memoai_worker_up 1.0" in body
        if name == "beat":
            # Beat opens its schedule file once it runs (log levels may hide its banner).
            return any(self.data_dir.glob("celerybeat-schedule*"))
        return True

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return proc.returncode

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_process(name)

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_records(self, name: str) -> list[dict[str, Any]]:
        records = []
        for line in self.log(name).splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    # ------------------------------------------------------------ API helpers

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=f"{self.api_url}/api/v1", **{"timeout": 15, **kwargs})

    def new_session(self) -> str:
        with self.client() as c:
            response = c.post("/sessions")
            response.raise_for_status()
            return str(response.json()["data"]["session_id"])

    def submit(self, session: str, text: str, **headers: str) -> str:
        with self.client() as c:
            response = c.post(
                "/evaluations/submit",
                json={"text_content": text},
                headers={"X-Session-ID": session, **headers},
            )
            assert response.status_code == 202, response.text
            return str(response.json()["data"]["evaluation_id"])

    def wait_final(self, session: str, evaluation_id: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.client() as c:
            while True:
                response = c.get(
                    f"/evaluations/{evaluation_id}/status", headers={"X-Session-ID": session}
                )
                response.raise_for_status()
                data: dict[str, Any] = response.json()["data"]
                if data["status"] in ("completed", "failed"):
                    return data
                if time.monotonic() > deadline:
                    raise TimeoutError(f"evaluation {evaluation_id} still {data}")
                time.sleep(0.1)

    def result(self, session: str, evaluation_id: str) -> dict[str, Any]:
        with self.client() as c:
            response = c.get(f"/evaluations/{evaluation_id}", headers={"X-Session-ID": session})
            assert response.status_code == 200, response.text
            return dict(response.json()["data"]["evaluation"])


def _get_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def base_env(root: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    config_dir = root / "config"
    if not config_dir.exists():
        shutil.copytree(REPO / "config", config_dir)
    api_port = free_port()
    env.update(
        APP_ENV="development",
        DATA_DIR=str(root / "data"),
        CONFIG_DIR=str(config_dir),
        API_PORT=str(api_port),
        WEB_PORT=str(free_port()),
        API_URL=f"http://127.0.0.1:{api_port}",
        WORKER_METRICS_PORT=str(free_port()),
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        DEBUG_MODE="false",
        LLM_PROVIDER="offline",
        WORKER_CONCURRENCY="8",
        PYTHONUNBUFFERED="1",
        # Every test talks from 127.0.0.1 and polls fast: limits high enough never
        # to trip unless a test lowers them (the rate-limit tests do).
        RATE_LIMIT_PER_MINUTE="100000",
        SUBMISSIONS_PER_HOUR="100000",
        LOGIN_ATTEMPTS_PER_HOUR="1000",
        ADMIN_OPS_PER_HOUR="100000",
        CHAT_MESSAGES_PER_HOUR="100000",
        RETRIES_PER_HOUR="100000",
    )
    env.update(overrides)
    return env


@contextmanager
def stack_env(root: Path, backend: str, **overrides: str) -> Iterator[dict[str, str]]:
    """Environment for a stack on `backend`, with its own database and queue."""
    with ExitStack() as cleanup:
        extra: dict[str, str] = {}
        if backend == "postgres":
            prefix = f"memoai-test-{uuid.uuid4().hex[:10]}"
            extra["DATABASE_URL"] = cleanup.enter_context(postgres_database())
            extra["REDIS_URL"] = redis_url()
            extra["REDIS_KEY_PREFIX"] = prefix
            extra["CELERY_QUEUE"] = prefix
            cleanup.callback(delete_redis_prefix, prefix)
        elif backend != "sqlite":
            raise ValueError(backend)
        yield base_env(root, **{**extra, **overrides})


def claude_overrides(fake_url: str, **more: str) -> dict[str, str]:
    return {
        "LLM_PROVIDER": "claude",
        "CLAUDE_API_KEY": f"sk-ant-test-{uuid.uuid4().hex}",
        "LLM_BASE_URL": fake_url,
        "LLM_TIMEOUT": "2",
        "LLM_RETRY_ATTEMPTS": "3",
        "LLM_RETRY_DELAY": "0.2",
        "EVALUATION_TIMEOUT": "30",
        **more,
    }


@contextmanager
def running_stack(
    root: Path, backend: str, services: tuple[str, ...] = ("api", "worker"), **overrides: str
) -> Iterator[Stack]:
    with stack_env(root, backend, **overrides) as env:
        stack = Stack(root, env, backend)
        stack.memoai("migrate")
        try:
            stack.start(*services)
            yield stack
        finally:
            stack.stop()
