"""The sync Postgres engine pings a pooled connection only after it sat idle.

Under load every checkout follows a return by milliseconds, and a ping per
checkout was a round trip and ~3 % of the worker's CPU; a connection idle for
IDLE_PING_SECONDS or more is still pinged, and one that died meanwhile is
replaced before anyone gets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from memoai.config import get_settings
from memoai.platform import db
from tests.support.services import postgres_admin_url, postgres_database

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, list[Any]]]:
    with postgres_database() as url:
        engine = db.build_engine(get_settings(), url)
        pings: list[Any] = []
        real = engine.dialect.do_ping

        def counted(dbapi_conn: Any) -> bool:
            pings.append(dbapi_conn)
            return real(dbapi_conn)

        monkeypatch.setattr(engine.dialect, "do_ping", counted)
        try:
            yield engine, pings
        finally:
            engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_just_returned_is_not_pinged(engine: tuple[Engine, list[Any]]) -> None:
    eng, pings = engine
    first = _backend_pid(eng)
    for _ in range(20):
        assert _backend_pid(eng) == first  # the same pooled connection, reused
    assert pings == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    engine: tuple[Engine, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    eng, pings = engine
    first = _backend_pid(eng)
    # Idle "long enough": every returned connection now counts as stale.
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    assert _backend_pid(eng) == first and len(pings) == 1  # pinged, alive, kept
    with psycopg.connect(postgres_admin_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    # The ping finds it dead: the caller gets a fresh connection, no error.
    replaced = _backend_pid(eng)
    assert replaced != first and len(pings) == 2
