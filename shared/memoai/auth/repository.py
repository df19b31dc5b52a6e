"""Every query on users, logged-in sessions and auth events lives here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.orm import Session as DbSession

from memoai.models import AuthEvent, Session, User, UserRole, utcnow
from memoai.platform.storable import storable


def user_by_username(db: DbSession, username: str, *, for_update: bool = False) -> User | None:
    if not storable(username):
        return None
    # Usernames are unique case-insensitively, so "Admin" cannot shadow "admin".
    query = select(User).where(func.lower(User.username) == username.lower())
    if for_update:
        query = query.with_for_update()
    return db.scalars(query).first()


def user_by_id(db: DbSession, user_id: str, *, for_update: bool = False) -> User | None:
    if not storable(user_id):
        return None
    query = select(User).where(User.id == user_id)
    if for_update:
        query = query.with_for_update()
    return db.scalars(query).first()


def any_admin(db: DbSession) -> bool:
    return db.scalar(select(User.id).where(User.role == UserRole.ADMIN).limit(1)) is not None


def active_admin_count(db: DbSession) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == UserRole.ADMIN, User.is_active.is_(True))
        )
        or 0
    )


def list_users(
    db: DbSession, *, limit: int, offset: int, role: str | None = None
) -> tuple[Sequence[User], int]:
    conditions = [User.role == role] if role else []
    total = db.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    rows = db.scalars(
        select(User)
        .where(*conditions)
        .order_by(User.created_at, User.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def add_user(db: DbSession, *, username: str, password_hash: str, role: str) -> User:
    now = utcnow()
    user = User(
        username=username,
        password_hash=password_hash,
        role=role,
        is_active=True,
        failed_login_count=0,
        password_changed_at=now,
    )
    db.add(user)
    db.flush()
    return user


def register_failure(
    db: DbSession, user_id: str, *, max_attempts: int, lockout_seconds: int
) -> datetime | None:
    """Count a failed attempt; lock the account when it reaches the limit.

    The increment is one UPDATE, so concurrent attempts serialise on the row
    lock and none is lost. Returns the lock's end when this attempt locked it.
    """
    db.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_login_count=User.failed_login_count + 1)
        .execution_options(synchronize_session=False)
    )
    until = utcnow() + timedelta(seconds=lockout_seconds)
    result = db.execute(
        update(User)
        .where(User.id == user_id, User.failed_login_count >= max_attempts)
        .values(locked_until=until, failed_login_count=0)
        .execution_options(synchronize_session=False)
    )
    return until if result.rowcount == 1 else None  # type: ignore[attr-defined]


def register_success(db: DbSession, user_id: str) -> None:
    db.execute(
        update(User)
        .where(User.id == user_id)
        .values(failed_login_count=0, locked_until=None, last_login_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def add_user_session(
    db: DbSession,
    *,
    session_id: str,
    user_id: str,
    jti: str,
    opaque: bool,
    timeout_seconds: int,
    ip: str | None,
    user_agent: str | None,
) -> Session:
    now = utcnow()
    row = Session(
        id=session_id,
        kind="user",
        # session_only mode looks the session up by its token's hash.
        token_hash=jti if opaque else None,
        user_id=user_id,
        current_jti=jti,
        expires_at=now + timedelta(seconds=timeout_seconds),
        last_activity_at=now,
        ip_address=ip,
        user_agent=user_agent,
    )
    db.add(row)
    db.flush()
    return row


# What a request needs of a login: columns, not ORM objects, by a statement
# built once (building a select() costs more CPU than running it).
LOGIN_COLUMNS = (
    Session.id.label("session_id"),
    Session.current_jti,
    Session.expires_at,
    Session.last_activity_at,
    User.id.label("user_id"),
    User.username,
    User.is_admin,
    User.role,
)
_LIVE = (
    Session.kind == "user",
    Session.revoked_at.is_(None),
    Session.expires_at > bindparam("now"),
    User.is_active.is_(True),
)
# Public, with LOGIN_COLUMNS, so that a read can ride along in the same
# statement (memoai_api.fastpath: the status poll's); join User on Session.user_id.
LOGIN_BY_ID_WHERE = (
    Session.id == bindparam("session_id"),
    Session.user_id == bindparam("user_id"),
    *_LIVE,
)
LOGIN_BY_HASH_WHERE = (Session.token_hash == bindparam("token_hash"), *_LIVE)
_LOGIN_BY_ID = (
    select(*LOGIN_COLUMNS).join(User, User.id == Session.user_id).where(*LOGIN_BY_ID_WHERE)
)
_LOGIN_BY_HASH = (
    select(*LOGIN_COLUMNS).join(User, User.id == Session.user_id).where(*LOGIN_BY_HASH_WHERE)
)


def live_login(db: DbSession | Connection, session_id: str, user_id: str) -> Any:
    """The live login (session and active user) for the per-request credential check."""
    return db.execute(
        _LOGIN_BY_ID, {"session_id": session_id, "user_id": user_id, "now": utcnow()}
    ).first()


def live_login_by_token_hash(db: DbSession | Connection, token_hash: str) -> Any:
    return db.execute(_LOGIN_BY_HASH, {"token_hash": token_hash, "now": utcnow()}).first()


def rotate_jti(
    db: DbSession, session_id: str, old_jti: str, new_jti: str, *, opaque: bool = False
) -> bool:
    """Swap the session's current token; False if another refresh got there first."""
    result = db.execute(
        update(Session)
        .where(
            Session.id == session_id,
            Session.current_jti == old_jti,
            Session.revoked_at.is_(None),
        )
        .values(
            current_jti=new_jti,
            last_activity_at=utcnow(),
            **({"token_hash": new_jti} if opaque else {}),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def revoke_session(db: DbSession, session_id: str) -> None:
    db.execute(
        update(Session)
        .where(Session.id == session_id, Session.revoked_at.is_(None))
        .values(revoked_at=utcnow(), current_jti=None, token_hash=None)
        .execution_options(synchronize_session=False)
    )


def revoke_user_sessions(db: DbSession, user_id: str, *, except_session: str | None = None) -> int:
    conditions = [Session.user_id == user_id, Session.revoked_at.is_(None)]
    if except_session:
        conditions.append(Session.id != except_session)
    result = db.execute(
        update(Session)
        .where(*conditions)
        .values(revoked_at=utcnow(), current_jti=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def list_events(
    db: DbSession,
    *,
    limit: int,
    offset: int,
    event_type: str | None = None,
    username: str | None = None,
    user_id: str | None = None,
) -> tuple[Sequence[AuthEvent], int]:
    conditions: list[Any] = []
    if event_type:
        conditions.append(AuthEvent.event_type == event_type)
    if username:
        conditions.append(AuthEvent.username == username)
    if user_id:
        conditions.append(AuthEvent.user_id == user_id)
    total = db.scalar(select(func.count()).select_from(AuthEvent).where(*conditions)) or 0
    rows = db.scalars(
        select(AuthEvent)
        .where(*conditions)
        .order_by(AuthEvent.created_at.desc(), AuthEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total
