"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, tuned.

With no REDIS_URL, `make run` needs no broker server. Compared with the stock
transport this one puts SQLite in WAL mode with a busy timeout, polls quickly
(the stock transport passes every option to create_engine, so polling_interval
could not be set), and deletes a message when it is taken instead of keeping
it forever as invisible (unacked messages live in the consumer's memory and are
restored on a clean shutdown; after a crash the database sweeper re-enqueues).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla
from sqlalchemy import create_engine, event

from memoai.platform.filelock import WriteLock

ALIAS = "memoaisqla"
_locks: dict[str, WriteLock] = {}


class Channel(kombu_sqla.Channel):
    def _engine_from_config(self) -> Any:
        conninfo = self.connection.client
        engine = create_engine(
            conninfo.hostname,
            hide_parameters=True,  # message bodies stay out of exception text and logs
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=4,
            max_overflow=8,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine

    # The consumer polls every few milliseconds; ORM queries there (a queue
    # lookup, then a select, then a delete) held the worker's GIL long enough
    # to slow every running task. One cached id and one statement per poll.
    _raw_conn: sqlite3.Connection | None = None
    _raw_lock: WriteLock | None = None

    def _locked(self) -> WriteLock:
        # Publishers (API) and the consumer (worker) write the same file: queue
        # them in the kernel instead of SQLite's sleeping busy handler.
        if self._raw_lock is None:
            path = self.connection.client.hostname.split("sqlite:///", 1)[1]
            self._raw_lock = _locks.setdefault(path, WriteLock(Path(f"{path}.writelock")))
        return self._raw_lock

    def _raw(self) -> sqlite3.Connection:
        if self._raw_conn is None:
            path = self.connection.client.hostname.split("sqlite:///", 1)[1]
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._raw_conn = conn
        return self._raw_conn

    def _queue_id(self, queue: str) -> int:
        ids: dict[str, int] = self.__dict__.setdefault("_queue_ids", {})
        if queue not in ids:
            ids[queue] = int(self._get_or_create(queue).id)  # type: ignore[no-untyped-call]
        return ids[queue]

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        queue_id = self._queue_id(queue)
        with self._locked().held():
            row = (
                self._raw()
                .execute(
                    f"DELETE FROM {self.message_tablename} WHERE id = ("  # noqa: S608 - table name from config
                    f"SELECT id FROM {self.message_tablename} WHERE queue_id = ? AND visible = 1 "
                    "ORDER BY timestamp, id LIMIT 1) RETURNING payload",
                    (queue_id,),
                )
                .fetchone()
            )
        if row is None:
            raise Empty()
        return json.loads(row[0])

    def _put(self, queue: Any, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        queue_id = self._queue_id(queue)
        with self._locked().held():
            self._raw().execute(
                f"INSERT INTO {self.message_tablename} (queue_id, visible, timestamp, payload, "  # noqa: S608
                "version) VALUES (?, 1, ?, ?, 1)",
                (
                    queue_id,
                    datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "),
                    json.dumps(message),
                ),
            )

    def _size(self, queue: Any) -> int:
        with self._locked().held():
            row = (
                self._raw()
                .execute(
                    f"SELECT count(*) FROM {self.message_tablename} "  # noqa: S608
                    "WHERE queue_id = ? AND visible = 1",
                    (self._queue_id(queue),),
                )
                .fetchone()
            )
        return int(row[0])


class Transport(kombu_sqla.Transport):
    Channel = Channel


def embedded_depth(sqla_url: str, queue_name: str) -> int:
    """Messages waiting in a queue of the embedded broker."""
    import sqlite3

    path = sqla_url.split("sqlite:///", 1)[1]
    conn = sqlite3.connect(path, timeout=5)
    try:
        row = conn.execute(
            "SELECT count(*) FROM kombu_message m JOIN kombu_queue q ON m.queue_id = q.id "
            "WHERE q.name = ? AND m.visible = 1",
            (queue_name,),
        ).fetchone()
    except sqlite3.OperationalError:
        return 0  # no table yet: nothing was ever published
    finally:
        conn.close()
    return int(row[0])


def register() -> None:
    TRANSPORT_ALIASES[ALIAS] = "memoai.platform.broker:Transport"


def url_for(sqla_url: str) -> str:
    """`sqla+sqlite:///path` → our transport's URL for the same file."""
    return f"{ALIAS}+" + sqla_url.split("+", 1)[1]


register()
