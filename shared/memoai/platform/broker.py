"""The embedded broker: a kombu virtual transport on a SQLite file.

With no REDIS_URL, `make run` needs no broker server. This is a transport of
its own built on kombu's documented extension point for virtual transports
(`kombu.transport.virtual.Channel`, whose `_new_queue`, `_get`, `_put`,
`_size`, `_purge` and `_delete` "virtual channels must implement"; kombu's
memory, filesystem, Redis and SQS transports are written the same way). It no
longer subclasses kombu's SQLAlchemy transport, whose engine hook
(`_engine_from_config`) and queue lookup (`_get_or_create`) are private.
tests/unit/test_broker.py fails loudly if kombu changes that interface; kombu
is pinned exactly in pyproject.toml.

What it does differently from kombu's SQLAlchemy transport: SQLite in WAL mode
with a busy timeout, one cached queue id and one statement per poll (ORM
queries on every poll held the worker's GIL long enough to slow every running
task), writers from every process queued on one file lock, and a message
deleted when it is taken instead of kept forever as invisible (unacked
messages live in the consumer's memory and are restored on a clean shutdown;
after a crash the database sweeper re-enqueues). The tables keep kombu's names
and columns, so a broker.db written by the old transport is read as it is.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, virtual

from memoai.platform.filelock import WriteLock

ALIAS = "memoaisqla"
QUEUE_TABLE = "kombu_queue"
MESSAGE_TABLE = "kombu_message"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {QUEUE_TABLE} (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(200) UNIQUE
);
CREATE TABLE IF NOT EXISTS {MESSAGE_TABLE} (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    visible BOOLEAN,
    timestamp DATETIME,
    payload TEXT NOT NULL,
    version SMALLINT NOT NULL,
    queue_id INTEGER,
    CONSTRAINT "FK_kombu_message_queue" FOREIGN KEY(queue_id) REFERENCES {QUEUE_TABLE} (id)
);
CREATE INDEX IF NOT EXISTS ix_memoai_message_poll
    ON {MESSAGE_TABLE} (queue_id, visible, timestamp, id);
"""

_locks: dict[str, WriteLock] = {}
_locks_guard = threading.Lock()


def _path(sqla_url: str) -> str:
    return sqla_url.split("sqlite:///", 1)[1]


def _lock_for(path: str) -> WriteLock:
    # Publishers (API) and the consumer (worker) write the same file: queue
    # them in the kernel instead of SQLite's sleeping busy handler.
    with _locks_guard:
        return _locks.setdefault(path, WriteLock(Path(f"{path}.writelock")))


class Channel(virtual.Channel):
    _conn: sqlite3.Connection | None = None

    def _file(self) -> str:
        return _path(self.connection.client.hostname)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            path = self._file()
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            with _lock_for(path).held():
                conn.executescript(_SCHEMA)  # once per connection; a no-op when present
            self._conn = conn
        return self._conn

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        with _lock_for(self._file()).held():
            return self._db().execute(sql, params)

    def _queue_id(self, queue: str) -> int:
        ids: dict[str, int] = self.__dict__.setdefault("_queue_ids", {})
        if queue not in ids:
            row = (
                self._db()
                .execute(
                    f"SELECT id FROM {QUEUE_TABLE} WHERE name = ?",  # noqa: S608 - constant table
                    (queue,),
                )
                .fetchone()
            )
            if row is None:
                self._write(f"INSERT OR IGNORE INTO {QUEUE_TABLE} (name) VALUES (?)", (queue,))  # noqa: S608
                row = (
                    self._db()
                    .execute(
                        f"SELECT id FROM {QUEUE_TABLE} WHERE name = ?",  # noqa: S608
                        (queue,),
                    )
                    .fetchone()
                )
            ids[queue] = int(row[0])
        return ids[queue]

    # -- the virtual channel interface

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        self._queue_id(queue)

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        row = self._write(
            f"DELETE FROM {MESSAGE_TABLE} WHERE id = ("  # noqa: S608 - constant table names
            f"SELECT id FROM {MESSAGE_TABLE} WHERE queue_id = ? AND visible = 1 "
            "ORDER BY timestamp, id LIMIT 1) RETURNING payload",
            (self._queue_id(queue),),
        ).fetchone()
        if row is None:
            raise Empty()
        return json.loads(row[0])

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        self._write(
            f"INSERT INTO {MESSAGE_TABLE} (queue_id, visible, timestamp, payload, version) "  # noqa: S608
            "VALUES (?, 1, ?, ?, 1)",
            (
                self._queue_id(queue),
                datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "),
                json.dumps(message),
            ),
        )

    def _size(self, queue: str) -> int:
        row = (
            self._db()
            .execute(
                f"SELECT count(*) FROM {MESSAGE_TABLE} WHERE queue_id = ? AND visible = 1",  # noqa: S608
                (self._queue_id(queue),),
            )
            .fetchone()
        )
        return int(row[0])

    def _purge(self, queue: str) -> int:
        return int(
            self._write(
                f"DELETE FROM {MESSAGE_TABLE} WHERE queue_id = ?",  # noqa: S608
                (self._queue_id(queue),),
            ).rowcount
        )

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self._purge(queue)
        self._write(f"DELETE FROM {QUEUE_TABLE} WHERE name = ?", (queue,))  # noqa: S608
        self.__dict__.setdefault("_queue_ids", {}).pop(queue, None)

    def close(self) -> None:
        super().close()  # type: ignore[no-untyped-call]  # restores unacked messages via _put
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Transport(virtual.Transport):
    Channel = Channel
    can_parse_url = True  # the URL after "memoaisqla+" is the SQLite URL itself
    driver_type = "sql"
    driver_name = "sqlite"
    connection_errors = (sqlite3.OperationalError,)
    channel_errors = (sqlite3.OperationalError,)

    def driver_version(self) -> str:
        return sqlite3.sqlite_version


def embedded_depth(sqla_url: str, queue_names: str | list[str]) -> dict[str, int]:
    """Messages waiting in each of these queues of the embedded broker."""
    names = [queue_names] if isinstance(queue_names, str) else list(queue_names)
    depths = dict.fromkeys(names, 0)
    conn = sqlite3.connect(_path(sqla_url), timeout=5)
    try:
        rows = conn.execute(
            f"SELECT q.name, count(m.id) FROM {QUEUE_TABLE} q "  # noqa: S608
            f"JOIN {MESSAGE_TABLE} m ON m.queue_id = q.id AND m.visible = 1 "
            f"WHERE q.name IN ({', '.join('?' * len(names))}) GROUP BY q.name",
            names,
        ).fetchall()
    except sqlite3.OperationalError:
        return depths  # no table yet: nothing was ever published
    finally:
        conn.close()
    depths.update({str(name): int(count) for name, count in rows})
    return depths


def register() -> None:
    TRANSPORT_ALIASES[ALIAS] = "memoai.platform.broker:Transport"


def url_for(sqla_url: str) -> str:
    """`sqla+sqlite:///path` → our transport's URL for the same file."""
    return f"{ALIAS}+" + sqla_url.split("+", 1)[1]


register()
