"""Queries on api_tokens. Only this module touches the table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update
from sqlalchemy.orm import Session as DbSession

from memoai.models import ApiToken, User


def add(
    db: DbSession,
    *,
    user_id: str,
    name: str,
    prefix: str,
    token_hash: str,
    scopes: list[str],
    expires_at: datetime | None,
) -> ApiToken:
    row = ApiToken(
        user_id=user_id,
        name=name,
        token_prefix=prefix,
        token_hash=token_hash,
        scopes=scopes,
        expires_at=expires_at,
    )
    db.add(row)
    db.flush()
    return row


# Checked on every request an integrator makes: columns, by a statement built once.
_LIVE_BY_HASH = (
    select(
        ApiToken.id,
        ApiToken.scopes,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        User.id.label("user_id"),
        User.username,
        User.role,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now")),
        User.is_active.is_(True),
    )
)


def live_by_hash(db: DbSession | Connection, token_hash: str, now: datetime) -> Any:
    """The unrevoked, unexpired token with this hash and its active owner's columns."""
    return db.execute(_LIVE_BY_HASH, {"token_hash": token_hash, "now": now}).first()


def touch(db: DbSession, token_id: str, now: datetime, not_since: datetime) -> None:
    """Record a use, unless one was recorded after `not_since` (conditional, so racing
    requests of a hot token write at most once per interval)."""
    db.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < not_since),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def list_for_user(db: DbSession, user_id: str) -> Sequence[ApiToken]:
    return db.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    ).all()


def count_live(db: DbSession, user_id: str, now: datetime) -> int:
    return len(
        db.scalars(
            select(ApiToken.id).where(
                ApiToken.user_id == user_id,
                ApiToken.revoked_at.is_(None),
                or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
            )
        ).all()
    )


def owned(db: DbSession, user_id: str, token_id: str) -> ApiToken | None:
    return db.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id))


def revoke_all_for_user(db: DbSession, user_id: str, now: datetime) -> int:
    """Revoke every unrevoked token of the user; returns how many."""
    result = db.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
