"""Short reads on the event loop (SQLite): a read that would write moves to a thread.

`threads.read` runs a read inline where `db.reads_inline()` allows it; inside,
any write (or a lock wait past the short busy timeout) raises WouldBlock and the
read runs again in the pool. The credential check writes a session's activity
once a minute, which is how a real request takes that path.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from memoai.models import Session, utcnow
from memoai.platform import db
from memoai_api import threads
from tests.integration.conftest import new_session
from tests.support import aio
from tests.support.auth import MEMO

pytestmark = pytest.mark.integration


def test_a_write_inside_an_inline_read_raises_would_block_and_reads_are_allowed(
    app_env: Path,
) -> None:
    assert db.reads_inline()  # SQLite

    def reads() -> int:
        with db.read_connection() as conn, db.session_scope(write=False) as session:
            return int(conn.scalar(select(1)) or 0) + int(session.scalar(select(1)) or 0)

    def writes() -> None:
        with db.session_scope():
            pass

    assert db.run_read_inline(reads) == 2
    with pytest.raises(db.WouldBlock):
        db.run_read_inline(writes)
    # threads.read falls back to the pool: the write runs there, off the loop.
    ran_on: list[bool] = []

    def touch() -> str:
        with db.session_scope():
            ran_on.append(db._inline.get())
        return "written"

    assert aio.run(threads.read(touch)) == "written"
    assert ran_on == [False]


def test_a_poll_whose_session_needs_its_activity_touch_still_answers_and_writes_it(
    client: TestClient,
) -> None:
    headers = new_session(client)
    submitted = client.post(
        "/api/v1/evaluations/submit", json={"text_content": MEMO}, headers=headers
    )
    assert submitted.status_code == 202
    eid = submitted.json()["data"]["evaluation_id"]
    stale = utcnow() - timedelta(minutes=10)
    with db.session_scope() as session:
        session.execute(update(Session).values(last_activity_at=stale))
    for path in (f"/api/v1/evaluations/{eid}/status", f"/api/v1/evaluations/{eid}"):
        with db.session_scope() as session:
            session.execute(update(Session).values(last_activity_at=stale))
        response = client.get(path, headers=headers)
        assert response.status_code in (200, 425), response.text
        with db.session_scope(write=False) as session:
            touched = session.scalar(select(Session.last_activity_at))
        assert touched is not None and touched > stale + timedelta(minutes=9)
