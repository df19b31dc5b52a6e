"""`memoai api` process count: backend.yaml workers.process_count, "auto" resolved."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import structlog

from memoai.config import ConfigError, load_settings
from memoai_api import threads
from memoai_cli.main import api_processes
from tests.support import aio

CONFIG = Path(__file__).resolve().parents[2] / "config"
POSTGRES = {
    "DATABASE_URL": "postgresql://memoai@db.invalid/memoai",
    "REDIS_URL": "redis://redis.invalid:6379/0",
}


def _processes(**env: str) -> int:
    return api_processes(load_settings({"CONFIG_DIR": str(CONFIG), "DATA_DIR": "/tmp/x", **env}))


def test_default_is_one_and_a_number_is_taken_as_it_is() -> None:
    assert _processes() == 1
    assert _processes(WORKER_PROCESSES="3") == 3


def test_auto_is_one_on_sqlite_and_one_per_core_on_postgres_with_redis() -> None:
    assert _processes(WORKER_PROCESSES="auto") == 1
    # Without Redis each process would count rate limits on its own.
    assert _processes(WORKER_PROCESSES="auto", DATABASE_URL=POSTGRES["DATABASE_URL"]) == 1
    cores = len(os.sched_getaffinity(0))
    assert _processes(WORKER_PROCESSES="auto", **POSTGRES) == cores


@pytest.mark.parametrize("value", ["0", "many"])
def test_anything_else_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="process_count"):
        _processes(WORKER_PROCESSES=value)


def test_in_thread_runs_off_the_loop_with_the_callers_context() -> None:
    def work(x: int) -> tuple[int, str, object]:
        rid = structlog.contextvars.get_contextvars().get("request_id")
        return x * 2, threading.current_thread().name, rid

    async def main() -> tuple[int, str, object]:
        structlog.contextvars.bind_contextvars(request_id="r-1")
        return await threads.in_thread(work, 21)

    threads.configure(2)
    try:
        doubled, name, rid = aio.run(main())
    finally:
        threads.shutdown()
    assert (doubled, rid) == (42, "r-1")
    assert name.startswith("api")
