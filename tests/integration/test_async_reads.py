"""Short reads on Postgres run on the event loop through psycopg's async driver.

`memoai_api.threads.read` runs the same sync read functions there (SQLAlchemy
drives them in a greenlet that awaits each round trip) instead of handing them
to a thread; a read that turns out to write moves to the thread pool and runs
again from the start. Real PostgreSQL, real event loops.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from memoai.models import AppSetting
from memoai.platform import db as db_module
from memoai.platform.db import get_engine, read_connection, session_scope
from memoai.platform.migrate import upgrade
from memoai_api import threads
from tests.integration.conftest import REPO, reset_process_state
from tests.support import aio
from tests.support.services import postgres_database

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    with postgres_database() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        reset_process_state()
        upgrade(get_engine())
        with session_scope() as db:
            db.add(AppSetting(key="probe", value="one"))
        yield
        reset_process_state()


def _core_read() -> tuple[str, int]:
    with read_connection() as conn:
        value = conn.execute(text("SELECT value FROM app_settings WHERE key = 'probe'")).scalar()
    return str(value), threading.get_ident()


def _orm_read() -> tuple[str, int]:
    with session_scope(write=False) as db:
        row = db.scalars(select(AppSetting).where(AppSetting.key == "probe")).one()
        return row.value, threading.get_ident()


def _read_then_write() -> tuple[str, int]:
    value, _ = _core_read()
    with session_scope() as db:
        db.add(AppSetting(key=f"written-{threading.get_ident()}", value=value))
    return value, threading.get_ident()


def _on_loop(fn: object) -> tuple[tuple[str, int], int]:
    async def main() -> tuple[tuple[str, int], int]:
        found = await threads.read(fn)  # type: ignore[arg-type]
        return found, threading.get_ident()

    return aio.run_uvloop(main())


def test_core_and_orm_reads_run_on_the_loop_without_a_thread(
    postgres: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[object] = []
    real = threads.in_thread

    async def counted(fn: object, *args: object) -> object:
        hops.append(fn)
        return await real(fn, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(threads, "in_thread", counted)
    (value, where), loop_thread = _on_loop(_core_read)
    assert (value, where) == ("one", loop_thread)
    (value, where), loop_thread = _on_loop(_orm_read)
    assert (value, where) == ("one", loop_thread)
    assert hops == []


def test_a_read_that_writes_moves_to_the_pool_and_commits_there(postgres: None) -> None:
    (value, where), loop_thread = _on_loop(_read_then_write)
    assert value == "one"
    assert where != loop_thread  # run again, from the start, in a pool thread
    with session_scope(write=False) as db:
        written = db.scalars(select(AppSetting.key).where(AppSetting.key.like("written-%"))).all()
    assert written == [f"written-{where}"]  # once: the attempt on the loop wrote nothing


def test_each_event_loop_gets_its_own_pool_and_errors_keep_their_type(postgres: None) -> None:
    def broken() -> None:
        with read_connection() as conn:
            conn.execute(text("SELECT no_such_column FROM app_settings"))

    async def twice() -> list[str]:
        return [(await threads.read(_core_read))[0] for _ in range(2)]

    assert aio.run(twice()) == ["one", "one"]
    assert aio.run_uvloop(twice()) == ["one", "one"]  # another loop: not the first one's pool
    with pytest.raises(ProgrammingError):
        aio.run(threads.read(broken))
    # The failed read's connection went back to the pool usable.
    assert aio.run(threads.read(_core_read))[0] == "one"
    assert db_module.reads_async()


def test_a_connection_killed_under_the_pool_costs_no_failed_read(postgres: None) -> None:
    """No pre-ping on the loop: a read on a dead connection runs again in the
    pool, whose engine pings, and the dead connection is discarded."""
    import psycopg

    url = get_engine().url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def main() -> list[str]:
        values = [(await threads.read(_core_read))[0]]
        with psycopg.connect(url, autocommit=True) as admin:  # a restart, for our connections
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        values += [(await threads.read(_core_read))[0] for _ in range(3)]
        return values

    assert aio.run_uvloop(main()) == ["one"] * 4


class _Suspensions:
    """Awaits a coroutine and counts the times it suspended (gave the loop back)."""

    def __init__(self, coroutine: Any) -> None:
        self.coroutine = coroutine
        self.count = 0

    def __await__(self) -> Generator[Any, Any, Any]:
        steps = self.coroutine.__await__()
        message = None
        while True:
            try:
                signal = steps.send(message)
            except StopIteration as stop:
                return stop.value
            self.count += 1
            message = yield signal


def test_a_read_gives_the_loop_back_only_for_its_round_trip(postgres: None) -> None:
    """A one-statement read suspends once, while Postgres answers. Through
    SQLAlchemy's `async with engine.connect()` it suspended twice (the close
    ran in a task of its own): under load each suspension waits behind every
    task ready to run (docs/benchmarks.md, seventh pass)."""

    async def main() -> tuple[int, str]:
        await threads.read(_core_read)  # the pool's connection exists now
        counted = _Suspensions(threads.read(_core_read))
        value, _ = await counted
        return counted.count, value

    suspensions, value = aio.run_uvloop(main())
    assert value == "one"
    assert suspensions == 1, suspensions


def test_a_read_cancelled_mid_statement_leaves_a_usable_pool(postgres: None) -> None:
    def slow() -> None:
        with read_connection() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))

    async def main() -> list[str]:
        task = asyncio.create_task(threads.read(slow))
        await asyncio.sleep(0.3)  # the statement is on its way
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Every connection of the pool answers the next reads correctly.
        found = await asyncio.gather(*(threads.read(_core_read) for _ in range(12)))
        return [value for value, _ in found]

    assert aio.run_uvloop(main()) == ["one"] * 12
