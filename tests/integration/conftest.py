"""In-process API fixtures: the real app on a temporary SQLite database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from memoai.config import reset_config_cache
from memoai.llm.factory import reset_providers
from memoai.platform.db import dispose_engine, get_engine
from memoai.platform.migrate import upgrade
from memoai.platform.queue import reset_producer
from tests.fakes.anthropic_server import FakeAnthropic
from tests.support.stack import BACKENDS, Stack, claude_overrides, running_stack

REPO = Path(__file__).resolve().parents[2]


def reset_process_state() -> None:
    reset_config_cache()
    dispose_engine()
    reset_producer()
    reset_providers()


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean environment (SQLite, embedded broker, offline provider) for one test."""
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "LLM_PROVIDER",
        "CLAUDE_API_KEY",
        "ANTHROPIC_API_KEY",
        "AUTH_ENABLED",
        "APP_ENV",
        "LLM_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    reset_process_state()
    upgrade(get_engine())
    yield tmp_path
    reset_process_state()


@pytest.fixture
def client(app_env: Path) -> Iterator[TestClient]:
    from memoai_api.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


def new_session(client: TestClient) -> dict[str, str]:
    response = client.post("/api/v1/sessions")
    assert response.status_code == 201
    # Header auth only; drop the cookie so each session stays separate.
    client.cookies.clear()
    return {"X-Session-ID": response.json()["data"]["session_id"]}


@pytest.fixture(scope="module", params=BACKENDS)
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_anthropic: FakeAnthropic,
) -> Iterator[Stack]:
    """api + worker on each back end, with Claude pointed at the fake Messages API.

    Modules that need another stack define their own `stack` fixture.
    """
    root = tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-{request.param}")
    with running_stack(root, request.param, **claude_overrides(fake_anthropic.url)) as s:
        yield s
