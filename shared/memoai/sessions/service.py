"""Anonymous sessions: server-generated 32-byte tokens, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

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
_LOOKUP = select(Session.id, Session.kind, Session.last_activity_at).where(
    Session.token_hash == bindparam("token_hash"),
    Session.revoked_at.is_(None),
    Session.expires_at > bindparam("now"),
)


def lookup_token(db: DbSession | Connection, token: str) -> TokenSession | None:
    """resolve_token for the per-request credential check (a few columns, no ORM row)."""
    if not token or len(token) > 256:
        return None
    row = db.execute(_LOOKUP, {"token_hash": hash_token(token), "now": utcnow()}).first()
    return TokenSession(row.id, row.kind, row.last_activity_at) if row else None


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
