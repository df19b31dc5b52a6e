"""Engine per process and the one place sessions are opened, committed or rolled back."""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from memoai.config import Settings, get_settings
from memoai.platform.filelock import WriteLock

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None
_ro_factory: sessionmaker[Session] | None = None
_ro_engine: Engine | None = None
_inline_engine: Engine | None = None
_inline_factory: sessionmaker[Session] | None = None
# Set while a read runs on the event loop (run_read_inline): see WouldBlock.
_inline: ContextVar[bool] = ContextVar("memoai_db_inline", default=False)
# The read connection open in this context, reused by nested read_connection().
_reading: ContextVar[Connection | None] = ContextVar("memoai_db_reading", default=None)
# Set while a read runs on the loop through the async driver (run_read_async):
# the greenlet's connection, which ORM sessions opened by that read bind to.
_async_conn: ContextVar[Connection | None] = ContextVar("memoai_db_async_conn", default=None)
# Postgres reads on the loop: one engine per event loop (a driver's connection
# belongs to the loop that opened it; tests run several loops in one process).
_async_engines: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, tuple[AsyncEngine, asyncio.Semaphore]
] = weakref.WeakKeyDictionary()
# On the loop a read may wait this long for a lock before it moves to a thread.
INLINE_BUSY_TIMEOUT_MS = 20
_pid: int | None = None


def build_engine(settings: Settings, url: str | None = None) -> Engine:
    """An engine for the settings' database.

    hide_parameters: a failing statement's bound values (password hashes, token
    hashes, memo text) never appear in the exception text, so never in a log.
    """
    url = url or settings.database_url
    conn = settings.database.connection
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        lite = settings.database.sqlite_settings
        engine = create_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": lite.busy_timeout_ms / 1000, "check_same_thread": False},
            pool_size=conn.pool_size,
            max_overflow=conn.max_overflow,
            pool_timeout=conn.pool_timeout,
        )
        _configure_sqlite(engine, settings)
        return engine
    engine = create_engine(
        url,
        pool_size=conn.pool_size,
        max_overflow=conn.max_overflow,
        **_postgres_options(settings),
    )
    _ping_when_idle(engine)
    return engine


# A pooled connection back from work less than this long ago is handed out
# without a ping: under load every checkout is one, and the ping (a round
# trip, two autocommit switches) cost about 3 % of the worker's CPU and a
# statement per unit of work on Postgres. A connection that died with a
# database restart in that second fails its statement, which invalidates the
# pool; the worker retries such units of work (pipeline._with_db_retry).
IDLE_PING_SECONDS = 1.0
# When an async read last found its connection dead (monotonic): the sync
# pool's connections returned before then are pinged whatever their idle time,
# as the read that failed runs again on one of them (run_read_async).
_suspect_since = 0.0


def _ping_when_idle(engine: Engine) -> None:
    """pool_pre_ping, but only for a connection idle in the pool a while."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["memoai_returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("memoai_returned")
        if returned is None:
            return  # new
        if time.monotonic() - returned < IDLE_PING_SECONDS and returned > _suspect_since:
            return  # just used, and no restart seen since
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("stale pooled connection") from exc
        if not alive:
            raise DisconnectionError("stale pooled connection")


ASYNC_POOL_SIZE = 10


def _async_pool_size(settings: Settings) -> int:
    return min(settings.database.connection.pool_size, ASYNC_POOL_SIZE)


def _build_async_engine(settings: Settings, engine: Engine) -> AsyncEngine:
    """Postgres through psycopg's asyncio connection, for reads on the event loop.

    Connections open as concurrency needs them and are kept: no overflow, as
    an overflow connection is closed on return and opening one costs more
    than many reads. At most ASYNC_POOL_SIZE (or pool_size if smaller): more
    reads at once than Postgres has cores to run them only finish in a less
    fair order. A burst queues in front of the pool (run_read_async's
    semaphore, first come first served: the pool's own queue lets a newcomer
    take a returned connection before a waiter, and some reads of a burst
    waited a second).

    Each round trip of a read on the loop waits its turn behind every task
    ready to run, so a read sends as few as it can: autocommit (reads at READ
    COMMITTED see a fresh snapshot per statement anyway, so a transaction
    adds only its BEGIN and ROLLBACK) and no pre-ping: a connection that died
    with a database restart fails its read, which then runs again in the
    thread pool, whose engine pings (run_read_async).
    """
    options = _postgres_options(settings)
    return create_async_engine(
        engine.url,
        pool_size=_async_pool_size(settings),
        max_overflow=0,
        isolation_level="AUTOCOMMIT",
        **options,
    ).execution_options(memoai_read_only=True)


def _postgres_options(settings: Settings) -> dict[str, Any]:
    conn = settings.database.connection
    return {
        "hide_parameters": True,
        "pool_timeout": conn.pool_timeout,
        "pool_recycle": conn.pool_recycle,
        # No pool_pre_ping: the sync engine pings only a connection idle a
        # while (_ping_when_idle), the async one never (run_read_async).
        "connect_args": {
            "connect_timeout": 5,
            "options": f"-c statement_timeout={settings.database.performance.query_timeout * 1000}",
        },
    }


def _configure_sqlite(
    engine: Engine, settings: Settings, busy_timeout_ms: int | None = None
) -> None:
    lite = settings.database.sqlite_settings
    busy = int(lite.busy_timeout_ms if busy_timeout_ms is None else busy_timeout_ms)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's implicit BEGIN is disabled so that SQLAlchemy's "begin" event
        # can issue BEGIN itself (see _begin below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if lite.wal_mode:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy}")
        cur.execute(f"PRAGMA synchronous={lite.synchronous}")
        cur.execute(f"PRAGMA cache_size={int(lite.cache_size)}")
        cur.execute(f"PRAGMA temp_store={lite.temp_store.upper()}")
        cur.execute(f"PRAGMA journal_size_limit={int(lite.journal_size_limit)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # BEGIN IMMEDIATE takes the write lock up front: a read-then-write
        # transaction can then wait on busy_timeout instead of failing with
        # "database is locked" when it upgrades its lock.
        read_only = conn.get_execution_options().get("memoai_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def get_engine() -> Engine:
    """The process's engine, rebuilt after fork (a pool must not cross processes)."""
    global _engine, _factory, _ro_factory, _ro_engine, _pid, _write_lock
    global _inline_engine, _inline_factory
    if _engine is None or _pid != os.getpid():
        with _lock:
            if _engine is None or _pid != os.getpid():
                _write_lock = None  # a flock inherited through fork is shared: reopen
                _drop_async_engines()
                _engine = build_engine(get_settings())
                _factory = sessionmaker(_engine, expire_on_commit=False)
                # Same pool; the option tells SQLite's begin hook not to take the
                # write lock, so reads never queue behind writers (WAL).
                ro_engine = _engine.execution_options(memoai_read_only=True)
                _ro_factory = sessionmaker(ro_engine, expire_on_commit=False)
                _ro_engine = ro_engine
                _inline_engine = _inline_factory = None
                if _engine.dialect.name == "sqlite":
                    _inline_engine = _build_inline_engine(get_settings(), _engine)
                    _inline_factory = sessionmaker(_inline_engine, expire_on_commit=False)
                _pid = os.getpid()
    return _engine


def _build_inline_engine(settings: Settings, engine: Engine) -> Engine:
    """Reads on the event loop: the same file, a short busy timeout, one connection."""
    inline = create_engine(
        engine.url,
        hide_parameters=True,
        connect_args={"timeout": INLINE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=1,
        max_overflow=4,  # the loop runs one read at a time; nested reads need a second
        pool_timeout=INLINE_BUSY_TIMEOUT_MS / 1000,
    )
    _configure_sqlite(inline, settings, busy_timeout_ms=INLINE_BUSY_TIMEOUT_MS)
    return inline.execution_options(memoai_read_only=True)


class WouldBlock(Exception):
    """A read running on the event loop must wait (a lock) or write: it is run
    again in a thread. Raised only inside run_read_inline."""


def reads_inline() -> bool:
    """Whether short reads may run on the event loop: on SQLite a read in WAL mode
    is a local page-cache read that never waits for writers, and a thread hop
    (GIL hand-offs under concurrency) costs more CPU than the read itself. Not on
    Postgres: there every read is a network round trip."""
    get_engine()
    return _inline_engine is not None


def run_read_inline(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """fn with every database use on the loop's engine; WouldBlock if it must wait or write."""
    token = _inline.set(True)
    try:
        return fn(*args, **kwargs)
    except (OperationalError, PoolTimeout) as exc:
        # Busy past the short timeout (a checkpoint, WAL recovery): not an outage
        # yet, the thread's connection waits the configured busy timeout.
        raise WouldBlock from exc
    finally:
        _inline.reset(token)


def reads_async() -> bool:
    """Whether short reads run on the event loop through the async driver
    (Postgres): the read awaits the network instead of holding a thread, and
    a thread hop under concurrency costs GIL hand-offs worth more CPU than
    the read (docs/benchmarks.md)."""
    return get_engine().dialect.name == "postgresql"


def _loop_engine() -> tuple[AsyncEngine, asyncio.Semaphore]:
    loop = asyncio.get_running_loop()
    found = _async_engines.get(loop)
    if found is None:
        sync = get_engine()  # also forgets a parent's engines after fork
        with _lock:
            found = _async_engines.get(loop)
            if found is None:
                settings = get_settings()
                engine = _build_async_engine(settings, sync)
                turn = asyncio.Semaphore(_async_pool_size(settings))
                found = _async_engines[loop] = (engine, turn)
    return found


async def run_read_async(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """fn on the event loop, its statements sent through the async driver: fn
    is the same sync code (SQLAlchemy runs it in a greenlet that awaits each
    round trip). WouldBlock, as run_read_inline, if it must write."""
    engine, turn = _loop_engine()

    def call(conn: Connection) -> R:
        tokens = (_inline.set(True), _reading.set(conn), _async_conn.set(conn))
        try:
            return fn(*args, **kwargs)
        finally:
            _async_conn.reset(tokens[2])
            _reading.reset(tokens[1])
            _inline.reset(tokens[0])

    try:
        async with turn:
            return await _on_async_connection(engine, call)
    except DBAPIError as exc:
        if exc.connection_invalidated:  # a stale connection, now discarded
            global _suspect_since
            _suspect_since = time.monotonic()  # the thread's pool pings before the rerun
            raise WouldBlock from exc
        raise


async def _on_async_connection(engine: AsyncEngine, call: Callable[[Connection], R]) -> R:
    """call on a pooled connection, checked out and returned without a detour
    through the loop.

    SQLAlchemy's `async with engine.connect()` runs the close in a task of
    its own (so that a cancellation cannot abandon it halfway) and suspends
    the caller until that task is done: a second suspension per read beside
    its round trip, and under load each waits behind every task ready to
    run, with the connection held out of the pool (docs/benchmarks.md,
    seventh pass). A pooled connection in
    autocommit is handed out and taken back with no I/O, so nothing can
    interrupt either; only after a failure (a cancellation mid-statement, an
    error) is the close shielded as SQLAlchemy does it, and the pool's reset
    then discards a connection left mid-command.
    """
    conn = engine.connect()
    await conn.start()
    try:
        result = await conn.run_sync(call)
    except BaseException:
        await asyncio.shield(conn.close())
        raise
    await conn.close()
    return result


async def dispose_async_engine() -> None:
    """At the API's shutdown, in its loop: close the async pool's connections."""
    found = _async_engines.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found[0].dispose()


def _session_factory(write: bool) -> Callable[[], Session]:
    get_engine()
    if _inline.get():  # session_scope has refused writes already
        conn = _async_conn.get()
        if conn is not None:  # an ORM read inside run_read_async: its connection
            return functools.partial(Session, bind=conn, expire_on_commit=False)
        if _inline_factory is None:
            raise WouldBlock
        return _inline_factory
    factory = _factory if write else _ro_factory
    assert factory is not None
    return factory


_write_lock: WriteLock | None = None


def _sqlite_write_lock() -> WriteLock | None:
    """The cross-process writer queue for this SQLite database (None on Postgres)."""
    global _write_lock
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        return None
    if _write_lock is None:
        database = engine.url.database or ""
        _write_lock = WriteLock(Path(f"{database}.writelock"))
    return _write_lock


# session.info key: callables a session's hooks want run once the SQLite write
# lock is released (queue.py publishes committed jobs there). Present only
# while a lock is held.
AFTER_RELEASE = "memoai_after_release"


@contextmanager
def session_scope(*, write: bool = True) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    if write and _inline.get():
        raise WouldBlock  # a write may queue for the lock: never on the event loop
    lock = _sqlite_write_lock() if write else None
    after: list[Callable[[], None]] = []
    with lock.held() if lock is not None else nullcontext():
        session = _session_factory(write)()
        if lock is not None and lock.depth() == 1:  # the release is this scope's
            session.info[AFTER_RELEASE] = after
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
    for run in after:
        run()


@contextmanager
def read_connection() -> Iterator[Connection]:
    """A read-only Core connection, no ORM session: for the per-request lookups
    (credential, status poll) that run prebuilt statements and read columns.
    The ORM session's set-up and commit cost more than such a query itself.
    Nested, it yields the outer connection: the credential check and the read
    after it share one checkout (on Postgres one pre-ping and one BEGIN)."""
    outer = _reading.get()
    if outer is not None:
        yield outer
        return
    get_engine()
    engine = _inline_engine if _inline.get() else _ro_engine
    assert engine is not None
    with engine.connect() as conn:
        token = _reading.set(conn)
        try:
            yield conn  # closing rolls the read transaction back
        finally:
            _reading.reset(token)


def dispose_engine() -> None:
    global _engine, _factory, _ro_factory, _ro_engine, _pid, _write_lock
    global _inline_engine, _inline_factory
    with _lock:
        if _engine is not None:
            _engine.dispose()
        if _inline_engine is not None:
            _inline_engine.dispose()
        _engine = _factory = _ro_factory = _ro_engine = _pid = None
        _inline_engine = _inline_factory = None
        _write_lock = None
        _drop_async_engines()


def _drop_async_engines() -> None:
    """Forget the async pools without closing them (outside their loops they
    cannot be; after fork they are the parent's)."""
    for engine, _turn in list(_async_engines.values()):
        engine.sync_engine.dispose(close=False)
    _async_engines.clear()


def ping() -> None:
    with session_scope(write=False) as s:
        s.execute(text("SELECT 1"))
