"""Fixtures for the operations tests: a private data directory and database per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import postgres_database
from tests.support.stack import _SCRUB, REPO


class OpsEnv:
    """Environment for `memoai` commands and for in-process calls on one database."""

    def __init__(self, root: Path, backend: str, database_url: str | None) -> None:
        self.root = root
        self.backend = backend
        config = root / "config"
        shutil.copytree(REPO / "config", config)
        self.env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        self.env.update(
            APP_ENV="development",
            DATA_DIR=str(root / "data"),
            CONFIG_DIR=str(config),
            LOG_LEVEL="WARNING",
            LLM_PROVIDER="offline",
        )
        if database_url:
            self.env["DATABASE_URL"] = database_url

    @property
    def data_dir(self) -> Path:
        return Path(self.env["DATA_DIR"])

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backups"

    def memoai(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "memoai_cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"memoai {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def settings(self) -> Any:
        from memoai.config import load_settings

        return load_settings(self.env)


@pytest.fixture(params=["sqlite", "postgres"])
def ops_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpsEnv]:
    with ExitStack() as stack:
        url = None
        if request.param == "postgres":
            url = stack.enter_context(postgres_database())
        yield OpsEnv(tmp_path, request.param, url)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> OpsEnv:
    return OpsEnv(tmp_path, "sqlite", None)


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point this process's settings and engine at an OpsEnv (retention, metrics)."""
    from memoai.config import reset_config_cache
    from memoai.platform.db import dispose_engine

    def activate(ops: OpsEnv) -> None:
        for key in _SCRUB:
            monkeypatch.delenv(key, raising=False)
        for key, value in ops.env.items():
            if os.environ.get(key) != value:
                monkeypatch.setenv(key, value)
        reset_config_cache()
        dispose_engine()

    yield activate
    reset_config_cache()
    dispose_engine()
