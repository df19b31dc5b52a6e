"""Jobs queued with enqueue_after_commit follow the transaction, savepoints included.

A job is published after the outer commit unless the transaction, or the
savepoint it was queued in, rolled back. These run real transactions and
SAVEPOINTs on SQLite and on PostgreSQL; only the final publish to the broker
is replaced by a recorder, so each test sees exactly which jobs went out.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memoai.cohorts import events
from memoai.models import AppSetting
from memoai.platform import db as db_module
from memoai.platform import queue
from memoai.platform.db import get_engine, session_scope
from memoai.platform.migrate import upgrade
from memoai.platform.queue import TaskName, enqueue_after_commit, queued_jobs
from tests.integration.conftest import REPO, reset_process_state
from tests.support.services import postgres_database
from tests.support.stack import BACKENDS

pytestmark = pytest.mark.integration
JOB = TaskName.PING


@pytest.fixture(scope="module", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    root = tmp_path_factory.mktemp(f"queue-{request.param}")
    shutil.copytree(REPO / "config", root / "config")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("DATABASE_URL", "REDIS_URL", "APP_ENV"):
            mp.delenv(name, raising=False)
        mp.setenv("CONFIG_DIR", str(root / "config"))
        mp.setenv("DATA_DIR", str(root / "data"))
        mp.setenv("LOG_LEVEL", "WARNING")
        with postgres_database() if request.param == "postgres" else nullcontext(None) as url:
            if url:
                mp.setenv("DATABASE_URL", url)
            reset_process_state()
            upgrade(get_engine())
            yield str(request.param)
            reset_process_state()


@pytest.fixture
def published(database: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The `n` of every job handed to the broker, in order."""
    sent: list[str] = []

    def record(name: TaskName, **kwargs: Any) -> bool:
        assert name is JOB
        sent.append(str(kwargs["n"]))
        return True

    monkeypatch.setattr(queue, "publish", record)
    return sent


def _row(db: Session, key: str) -> None:
    db.add(AppSetting(key=key, value=True))
    db.flush()


def _savepoint(db: Session, body: Callable[[], object]) -> None:
    with db.begin_nested():
        body()


def _failing_savepoint(
    db: Session, body: Callable[[], object], error: type[Exception] = RuntimeError
) -> None:
    """Run `body` in a SAVEPOINT that it makes fail with `error`."""
    with pytest.raises(error):
        _savepoint(db, body)


def _fail(*_args: object) -> None:
    raise RuntimeError("a listener failed")


def _stored(*keys: str) -> set[str]:
    with session_scope(write=False) as db:
        return set(db.scalars(select(AppSetting.key).where(AppSetting.key.in_(keys))))


def _key(published: list[str], name: str) -> str:
    return f"q-{name}-{len(published)}-{id(published)}"


def test_a_failed_savepoint_drops_its_jobs_and_keeps_the_others(published: list[str]) -> None:
    before, inside, after = (_key(published, n) for n in ("before", "inside", "after"))
    with session_scope() as db:
        _row(db, before)
        enqueue_after_commit(db, JOB, n="before")
        _failing_savepoint(
            db, lambda: (_row(db, inside), enqueue_after_commit(db, JOB, n="inside"), _fail())
        )
        _row(db, after)
        enqueue_after_commit(db, JOB, n="after")
        assert published == []  # nothing before the commit
    assert published == ["before", "after"]
    assert _stored(before, inside, after) == {before, after}  # the savepoint really rolled back


def test_a_flush_failing_inside_a_savepoint_drops_only_that_savepoints_jobs(
    published: list[str],
) -> None:
    taken = _key(published, "taken")
    with session_scope() as db:
        _row(db, taken)
        enqueue_after_commit(db, JOB, n="before")
        # The same primary key again: the flush fails and rolls the savepoint back.
        _failing_savepoint(
            db,
            lambda: (enqueue_after_commit(db, JOB, n="inside"), _row(db, taken)),
            IntegrityError,
        )
        enqueue_after_commit(db, JOB, n="after")
    assert published == ["before", "after"]


def test_a_released_savepoint_publishes_with_the_outer_commit_not_before(
    published: list[str],
) -> None:
    with session_scope() as db:
        with db.begin_nested():
            enqueue_after_commit(db, JOB, n="inside")
        assert published == []  # SAVEPOINT released: not committed yet
        assert queued_jobs(db) == [(JOB, {"n": "inside"})]
    assert published == ["inside"]


def test_rolling_back_a_savepoint_drops_the_jobs_of_savepoints_inside_it(
    published: list[str],
) -> None:
    with session_scope() as db:
        enqueue_after_commit(db, JOB, n="outer")
        # "inner" is released into "middle", which then rolls back and takes it along.
        _failing_savepoint(
            db,
            lambda: (
                enqueue_after_commit(db, JOB, n="middle"),
                _savepoint(db, lambda: enqueue_after_commit(db, JOB, n="inner")),
                _fail(),
            ),
        )
        with db.begin_nested():
            enqueue_after_commit(db, JOB, n="later")
    assert published == ["outer", "later"]


def test_an_outer_rollback_publishes_nothing_and_leaves_nothing_behind(
    published: list[str],
) -> None:
    def doomed() -> None:
        with session_scope() as db:
            enqueue_after_commit(db, JOB, n="doomed")
            _savepoint(db, lambda: enqueue_after_commit(db, JOB, n="doomed savepoint"))
            _fail()

    with pytest.raises(RuntimeError):
        doomed()
    assert published == []
    # One session, two transactions: the first one's jobs do not ride on the second.
    with Session(get_engine()) as db:
        enqueue_after_commit(db, JOB, n="rolled back")  # before any statement
        db.rollback()
        _row(db, _key(published, "second"))
        enqueue_after_commit(db, JOB, n="second")
        db.commit()
        assert db.info.get("memoai_jobs") is None
    assert published == ["second"]


def test_a_failing_cohort_listener_keeps_the_jobs_queued_before_and_after_it(
    published: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = {n: _key(published, n) for n in ("first", "failing", "third")}

    def listener(name: str, fail: bool = False) -> Any:
        def listen(db: Session, _event: events.ReviewReleased) -> None:
            _row(db, keys[name])
            enqueue_after_commit(db, JOB, n=name)
            if fail:
                raise RuntimeError("receiver lookup failed")

        return listen

    monkeypatch.setattr(
        events, "_released", [listener("first"), listener("failing", True), listener("third")]
    )
    with session_scope() as db:
        enqueue_after_commit(db, JOB, n="release")
        events.review_released(
            db, events.ReviewReleased("e", "a", writer_id=None, released_by=None)
        )
    assert published == ["release", "first", "third"]
    assert _stored(*keys.values()) == {keys["first"], keys["third"]}


def test_on_sqlite_jobs_go_out_after_the_write_lock_is_released(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing waits on the broker (its own file lock, or Redis): other writers
    must not wait for that. Nested scopes publish when the outermost releases."""
    lock = db_module._sqlite_write_lock()
    held_when_sent: list[bool | None] = []

    def record(name: TaskName, **kwargs: Any) -> bool:
        held_when_sent.append(lock.depth() > 0 if lock else None)
        return True

    monkeypatch.setattr(queue, "publish", record)
    with session_scope() as db:
        enqueue_after_commit(db, JOB, n="outer")
        with session_scope() as inner:  # a hook that writes inside a write
            enqueue_after_commit(inner, JOB, n="inner")
        assert held_when_sent == ([True] if lock else [None])  # inner: still under the outer lock
    if database == "sqlite":
        assert held_when_sent == [True, False]
    else:
        assert lock is None and held_when_sent == [None, None]
