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
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla
from kombu.utils.encoding import bytes_to_str
from sqlalchemy import create_engine, delete, event, text

ALIAS = "memoaisqla"


class Channel(kombu_sqla.Channel):
    def _engine_from_config(self) -> Any:
        conninfo = self.connection.client
        engine = create_engine(
            conninfo.hostname,
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

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        obj = self._get_or_create(queue)  # type: ignore[no-untyped-call]
        session = self.session
        session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
        try:
            msg = (
                session.query(self.message_cls)
                .filter(self.message_cls.queue_id == obj.id)
                .filter(self.message_cls.visible.is_(True))
                .order_by(self.message_cls.sent_at, self.message_cls.id)
                .limit(1)
                .first()
            )
            if msg is None:
                raise Empty()
            payload = msg.payload
            session.execute(delete(self.message_cls).where(self.message_cls.id == msg.id))
            return json.loads(bytes_to_str(payload))  # type: ignore[no-untyped-call]
        finally:
            session.commit()


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
    TRANSPORT_ALIASES[ALIAS] = "memoai.broker:Transport"


def url_for(sqla_url: str) -> str:
    """`sqla+sqlite:///path` → our transport's URL for the same file."""
    return f"{ALIAS}+" + sqla_url.split("+", 1)[1]


register()
