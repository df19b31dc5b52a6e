"""The per-request anonymous-session check reads columns, with resolve_token's rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session as DbSession

from memoai.models import Base, Session, utcnow
from memoai.sessions import service as sessions


@pytest.fixture
def db() -> Iterator[DbSession]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with DbSession(engine) as session:
        yield session
    engine.dispose()


def test_a_live_token_is_found_and_a_revoked_or_expired_one_is_not(db: DbSession) -> None:
    live = sessions.create_anonymous(db, timeout_seconds=3600, ip=None, user_agent=None)
    revoked = sessions.create_anonymous(db, timeout_seconds=3600, ip=None, user_agent=None)
    expired = sessions.create_anonymous(db, timeout_seconds=3600, ip=None, user_agent=None)
    db.execute(update(Session).where(Session.id == revoked.session.id).values(revoked_at=utcnow()))
    past = utcnow() - timedelta(seconds=1)
    db.execute(update(Session).where(Session.id == expired.session.id).values(expires_at=past))
    db.commit()

    found = sessions.lookup_token(db, live.token)
    assert found is not None
    assert (found.id, found.kind) == (live.session.id, "anonymous")
    assert not sessions.needs_touch(found)
    for gone in (revoked, expired):
        assert sessions.lookup_token(db, gone.token) is None
        assert sessions.resolve_token(db, gone.token) is None  # the same rule as before
    assert sessions.lookup_token(db, "nope") is None
    assert sessions.lookup_token(db, "x" * 257) is None
