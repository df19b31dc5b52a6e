"""Anonymous sessions: server-generated 32-byte tokens, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session as DbSession

from memoai.models import Session, utcnow

# Writing last_activity on every poll would turn reads into writes; once a
# minute is enough for "last activity" and for sliding expiry.
TOUCH_INTERVAL = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewSession:
    session: Session
    token: str


def create_anonymous(
    db: DbSession, *, timeout_seconds: int, ip: str | None, user_agent: str | None
) -> NewSession:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = Session(
        kind="anonymous",
        token_hash=hash_token(token),
        expires_at=now + timedelta(seconds=timeout_seconds),
        last_activity_at=now,
        ip_address=ip,
        user_agent=(user_agent or "")[:512] or None,
    )
    db.add(row)
    db.flush()
    return NewSession(row, token)


def resolve_token(db: DbSession, token: str) -> Session | None:
    """The live session for a token, or None (unknown, expired or revoked)."""
    if not token or len(token) > 256:
        return None
    row = db.scalars(select(Session).where(Session.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


@dataclass(frozen=True)
class TokenSession:
    """What a request needs of its session: read as columns, not as an ORM object."""

    id: str
    kind: str
    last_activity_at: datetime


# Built once: building a select() costs more CPU than running it (docs/benchmarks.md).
# The columns and the condition are public so that a read can ride along in
# the same statement (memoai_api.fastpath: the status poll's).
LOOKUP_COLUMNS = (Session.id.label("session_id"), Session.kind, Session.last_activity_at)
LOOKUP_WHERE = (
    Session.token_hash == bindparam("token_hash"),
    Session.revoked_at.is_(None),
    Session.expires_at > bindparam("now"),
)
_LOOKUP = select(*LOOKUP_COLUMNS).where(*LOOKUP_WHERE)


def lookup_parameters(token: str) -> dict[str, object] | None:
    """The bind parameters of LOOKUP_WHERE, or None for a value no session has."""
    if not token or len(token) > 256:
        return None
    return {"token_hash": hash_token(token), "now": utcnow()}


def lookup_token(db: DbSession | Connection, token: str) -> TokenSession | None:
    """resolve_token for the per-request credential check (a few columns, no ORM row)."""
    parameters = lookup_parameters(token)
    if parameters is None:
        return None
    return token_session(db.execute(_LOOKUP, parameters).first())


def token_session(row: Any) -> TokenSession | None:
    """A row of LOOKUP_COLUMNS (None: no live session) as a TokenSession."""
    return TokenSession(row.session_id, row.kind, row.last_activity_at) if row else None


class Active(Protocol):
    """A session row, a TokenSession or a login Row: anything with its last activity."""

    @property
    def last_activity_at(self) -> datetime: ...


def needs_touch(row: Active) -> bool:
    return utcnow() - row.last_activity_at >= TOUCH_INTERVAL


def touch(db: DbSession, session_id: str, timeout_seconds: int) -> None:
    """Record activity and slide the expiry forward."""
    now = utcnow()
    db.execute(
        update(Session)
        .where(Session.id == session_id)
        .values(last_activity_at=now, expires_at=now + timedelta(seconds=timeout_seconds))
    )


def expires_at(row: Session) -> datetime:
    return row.expires_at
