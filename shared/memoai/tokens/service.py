"""Personal access tokens: `mac_` + 32 random bytes, shown once, stored as SHA-256.

A plain SHA-256 is enough here (no bcrypt): the secret has 256 bits of entropy,
so the hash cannot be brute-forced, and a fast hash keeps per-request lookups
cheap. The first 12 characters (`mac_xxxxxxxx`) are kept in clear so that a
user can tell tokens apart; they reveal 48 of the 256 bits.

Tokens always expire (1 to 365 days): a forgotten integration's credential
should not stay valid for ever. They belong to a user, act with that user's
ownership, stop working when the user is deactivated, and never carry admin
rights or manage tokens (both need a real login; see memoai_api.deps).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator
from sqlalchemy import Connection
from sqlalchemy.orm import Session as DbSession

from memoai.models import ApiToken, utcnow
from memoai.platform import audit
from memoai.platform.errors import Conflict, NotFound, Unauthorized
from memoai.platform.identity import Principal
from memoai.tokens import repository as repo

log = structlog.get_logger(__name__)

TOKEN_PREFIX = "mac_"  # noqa: S105 - the public marker, not a secret
PREFIX_LENGTH = 12  # "mac_" + 8 characters, shown in lists
MAX_TOKEN_LENGTH = 256
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 365
MAX_LIVE_TOKENS = 50
# A hot token records its use at most once a minute: one conditional UPDATE per
# minute instead of a write per request (SQLite has a single writer).
TOUCH_INTERVAL = timedelta(seconds=60)

Scope = Literal["read", "write"]


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "LMS sync", "scopes": ["write"], "expires_in_days": 90}]
        },
    )
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=2)] = ["read"]
    expires_in_days: Annotated[int, Field(ge=1, le=MAX_EXPIRY_DAYS, strict=True)] = (
        DEFAULT_EXPIRY_DAYS
    )

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the name must not be blank")
        return value


class TokenPublic(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The token's first characters, for telling tokens apart")
    scopes: list[Scope]
    status: Literal["active", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="Recorded at most once a minute")
    revoked_at: datetime | None


class TokenCreated(BaseModel):
    id: str
    name: str
    token: str = Field(description="The secret: shown only in this response")
    prefix: str
    scopes: list[Scope]
    expires_at: datetime | None
    created_at: datetime


class TokenList(BaseModel):
    items: list[TokenPublic]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_api_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def normalise_scopes(scopes: list[Scope]) -> list[Scope]:
    """write implies read: stored scopes are always complete."""
    return ["read", "write"] if "write" in scopes else ["read"]


def _status(row: ApiToken, now: datetime) -> Literal["active", "expired", "revoked"]:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def public(row: ApiToken, now: datetime | None = None) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        name=row.name,
        prefix=row.token_prefix,
        scopes=normalise_scopes(list(row.scopes)),  # type: ignore[arg-type]
        status=_status(row, now or utcnow()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _user_of(principal: Principal) -> str:
    if principal.user_id is None or principal.is_api_token:
        raise Unauthorized("API tokens are managed by a logged-in user.", code="login_required")
    return principal.user_id


def create(
    db: DbSession, principal: Principal, body: TokenCreate, *, ip: str | None = None
) -> TokenCreated:
    user_id = _user_of(principal)
    now = utcnow()
    if repo.count_live(db, user_id, now) >= MAX_LIVE_TOKENS:
        raise Conflict(
            f"You already have {MAX_LIVE_TOKENS} active tokens; revoke one first.",
            code="too_many_tokens",
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    scopes = normalise_scopes(body.scopes)
    row = repo.add(
        db,
        user_id=user_id,
        name=body.name,
        prefix=token[:PREFIX_LENGTH],
        token_hash=hash_token(token),
        scopes=list(scopes),
        expires_at=now + timedelta(days=body.expires_in_days),
    )
    audit.add_event(
        db,
        "api_token_created",
        success=True,
        user_id=user_id,
        username=principal.username,
        session_id=principal.session_fk,
        ip=ip,
        details={"token_id": row.id, "prefix": row.token_prefix, "scopes": list(scopes)},
    )
    log.info("tokens.created", user_id=user_id, token_id=row.id, scopes=list(scopes))
    return TokenCreated(
        id=row.id,
        name=row.name,
        token=token,
        prefix=row.token_prefix,
        scopes=scopes,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def list_tokens(db: DbSession, principal: Principal) -> TokenList:
    user_id = _user_of(principal)
    now = utcnow()
    return TokenList(items=[public(row, now) for row in repo.list_for_user(db, user_id)])


def revoke(
    db: DbSession, principal: Principal, token_id: str, *, ip: str | None = None
) -> TokenPublic:
    """Revoke one of the caller's tokens (revoking twice is harmless)."""
    user_id = _user_of(principal)
    row = repo.owned(db, user_id, token_id)
    if row is None:
        raise NotFound("No such token.", field="token_id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.add_event(
            db,
            "api_token_revoked",
            success=True,
            user_id=user_id,
            username=principal.username,
            session_id=principal.session_fk,
            ip=ip,
            details={"token_id": row.id, "prefix": row.token_prefix},
        )
        log.info("tokens.revoked", user_id=user_id, token_id=row.id)
    db.flush()
    return public(row)


def revoke_all(db: DbSession, user_id: str) -> int:
    """Revoke all of a user's tokens (password reset, deactivation, sign out everywhere).

    The caller records the auth event that says why, in the same transaction.
    """
    revoked = repo.revoke_all_for_user(db, user_id, utcnow())
    if revoked:
        log.info("tokens.revoked_all", user_id=user_id, count=revoked)
    return revoked


def resolve(
    db: DbSession | Connection, token: str
) -> tuple[Principal, datetime | None, bool] | None:
    """(principal, expiry, needs a last-used write) for a live token, else None."""
    if not looks_like_api_token(token) or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = utcnow()
    row = repo.live_by_hash(db, hash_token(token), now)
    if row is None:
        return None
    principal = Principal(
        # No sessions row stands behind a token: session_id names the token so
        # that audit lines can tell its requests apart; session_fk is None.
        session_id=row.id,
        user_id=row.user_id,
        username=row.username,
        is_admin=False,  # a token never carries admin rights, even an admin's
        # ...but an admin's or coach's token may act as coach of the cohorts they coach.
        role="coach" if row.role in ("coach", "admin") else "user",
        auth_method="api_token",
        token_id=row.id,
        scopes=tuple(normalise_scopes(list(row.scopes))),
    )
    stale = row.last_used_at is None or row.last_used_at < now - TOUCH_INTERVAL
    return principal, row.expires_at, stale


def touch(db: DbSession, token_id: str) -> None:
    now = utcnow()
    repo.touch(db, token_id, now, now - TOUCH_INTERVAL)
