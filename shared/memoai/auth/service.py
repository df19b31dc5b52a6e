"""Logins, logouts, token refresh and turning a presented token into a Principal.

Password checks cost ~0.25 s of CPU (bcrypt, 12 rounds). They run between
two short transactions, never inside one: on SQLite a write transaction holds
the database's single write lock, and every other writer would queue behind
the hash. That is why `login` opens its own units of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection
from sqlalchemy.orm import Session as DbSession

from memoai.auth import passwords, tokens
from memoai.auth import repository as repo
from memoai.auth.schemas import UserPublic, VerifyResult
from memoai.config import Settings
from memoai.models import Session, User, new_id, utcnow
from memoai.platform import audit, metrics
from memoai.platform.db import session_scope
from memoai.platform.errors import MemoError, RateLimited, Unauthorized
from memoai.platform.identity import Principal
from memoai.sessions.service import needs_touch
from memoai.tokens import repository as token_repo

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class LoginSuccess:
    user: UserPublic
    session_id: str
    token: tokens.AccessToken


@dataclass(frozen=True)
class LoginOutcome:
    """A login's result. Failures are returned, not raised, so that the failure
    count and the audit event commit before the error response goes out."""

    success: LoginSuccess | None = None
    error: MemoError | None = None

    def unwrap(self) -> LoginSuccess:
        if self.error is not None:
            raise self.error
        assert self.success is not None
        return self.success


def invalid_credentials() -> Unauthorized:
    # One answer (status, body, headers) for an unknown user, a wrong password, a
    # disabled and a locked account: a distinct "locked" answer would tell an
    # attacker which usernames exist. The lockout is in the audit log and the
    # admin's user list; the message tells a real user it may be the reason.
    return Unauthorized(
        "Invalid username or password. After repeated failures an account is locked "
        "for a while; wait and try again.",
        code="invalid_credentials",
    )


def account_locked(settings: Settings, until: datetime) -> RateLimited:
    wait = max(1, int((until - utcnow()).total_seconds()) + 1)
    limit = settings.authentication.security.max_login_attempts
    return RateLimited(
        f"Too many failed logins: the account is locked for {wait} more seconds.",
        code="account_locked",
        details={"locked_until": until.isoformat()},
        headers={
            "Retry-After": str(wait),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(wait),
        },
    )


def public_user(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        role=user.role,
    )


def login(settings: Settings, username: str, password: str, client: ClientInfo) -> LoginOutcome:
    cfg = settings.authentication
    rounds = cfg.security.bcrypt_rounds
    with session_scope(write=False) as db:
        found = repo.user_by_username(db, username)
    if found is None:
        passwords.burn_time(password, rounds)
        _record_failure(None, username, client, "unknown_user")
        return LoginOutcome(error=invalid_credentials())
    if found.locked_until is not None and found.locked_until > utcnow():
        # Locked: the password is not checked, so guessing gains nothing; the
        # same bcrypt work is spent so the answer takes as long as any other.
        passwords.burn_time(password, rounds)
        metrics.LOGIN_FAILURES.labels("locked").inc()
        with session_scope() as db:
            audit.add_event(
                db,
                "login_blocked",
                success=False,
                user_id=found.id,
                username=found.username,
                ip=client.ip,
                user_agent=client.user_agent,
                details={"reason": "locked", "locked_until": found.locked_until.isoformat()},
            )
        return LoginOutcome(error=invalid_credentials())

    password_ok = passwords.verify_password(password, found.password_hash)
    new_hash = None
    if password_ok and passwords.hash_rounds(found.password_hash) != rounds:
        new_hash = passwords.hash_password(password, rounds)  # BCRYPT_ROUNDS changed

    with session_scope() as db:
        user = repo.user_by_id(db, found.id, for_update=True)
        if user is None or not user.is_active:
            reason = "unknown_user" if user is None else "inactive"
            _add_failure_event(db, user, username, client, reason)
            return LoginOutcome(error=invalid_credentials())
        if user.locked_until is not None and user.locked_until > utcnow():
            # Locked by a parallel attempt while this one hashed: refused alike.
            metrics.LOGIN_FAILURES.labels("locked").inc()
            return LoginOutcome(error=invalid_credentials())
        if not password_ok:
            return _wrong_password(db, settings, user, client)
        repo.register_success(db, user.id)
        if new_hash:
            user.password_hash = new_hash
        session_id = new_id()
        token = tokens.issue_token(settings, user_id=user.id, session_id=session_id)
        repo.add_user_session(
            db,
            session_id=session_id,
            user_id=user.id,
            jti=token.jti,
            opaque=token.opaque,
            timeout_seconds=cfg.session.timeout,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        audit.add_event(
            db,
            "login_success",
            success=True,
            user_id=user.id,
            username=user.username,
            session_id=session_id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        log.info("auth.login", user_id=user.id, session_id=session_id)
        return LoginOutcome(
            success=LoginSuccess(user=public_user(user), session_id=session_id, token=token)
        )


def _wrong_password(
    db: DbSession, settings: Settings, user: User, client: ClientInfo
) -> LoginOutcome:
    sec = settings.authentication.security
    locked_until = repo.register_failure(
        db, user.id, max_attempts=sec.max_login_attempts, lockout_seconds=sec.lockout_duration
    )
    _add_failure_event(db, user, user.username, client, "bad_password")
    if locked_until is not None:
        metrics.ACCOUNT_LOCKOUTS.inc()
        audit.add_event(
            db,
            "account_locked",
            success=False,
            user_id=user.id,
            username=user.username,
            ip=client.ip,
            user_agent=client.user_agent,
            details={
                "locked_until": locked_until.isoformat(),
                "failed_attempts": sec.max_login_attempts,
            },
        )
        log.warning("auth.account_locked", user_id=user.id, ip=client.ip)
    return LoginOutcome(error=invalid_credentials())


# Audit reasons → the reason label of memoai_login_failures_total.
_METRIC_REASON = {"unknown_user": "bad_credentials", "bad_password": "bad_credentials"}


def _add_failure_event(
    db: DbSession, user: User | None, username: str, client: ClientInfo, reason: str
) -> None:
    metrics.LOGIN_FAILURES.labels(_METRIC_REASON.get(reason, reason)).inc()
    audit.add_event(
        db,
        "login_failed",
        success=False,
        user_id=user.id if user else None,
        username=username,
        ip=client.ip,
        user_agent=client.user_agent,
        details={"reason": reason},
    )


def _record_failure(user: User | None, username: str, client: ClientInfo, reason: str) -> None:
    with session_scope() as db:
        _add_failure_event(db, user, username, client, reason)


@dataclass(frozen=True)
class LoginKey:
    """How an access token's login is looked up: by the JWT's claims (session
    and user), or by the hash of an opaque session_only token."""

    jti: str
    session_id: str | None = None  # None: by token_hash
    user_id: str | None = None

    @property
    def parameters(self) -> dict[str, object]:
        """The bind parameters of repo.LOGIN_BY_ID_WHERE or LOGIN_BY_HASH_WHERE."""
        if self.session_id is None:
            return {"token_hash": self.jti, "now": utcnow()}
        return {"session_id": self.session_id, "user_id": self.user_id, "now": utcnow()}


def login_key(settings: Settings, token: str) -> LoginKey | None:
    """The key of an access token's login, or None for a token that has none
    (forged, expired, malformed)."""
    if tokens.looks_like_jwt(token):
        claims = tokens.decode_access_token(settings, token)
        if claims is None:
            return None
        return LoginKey(claims.jti, claims.session_id, claims.user_id)
    # An opaque session_only token (any mode: tokens outlive a mode switch).
    if not token or len(token) > 256:
        return None
    return LoginKey(tokens.opaque_hash(token))


def principal_for_token(
    db: DbSession | Connection, settings: Settings, token: str, auth_method: str
) -> tuple[Principal, datetime, bool] | None:
    """(principal, session expiry, needs a touch) for a live access token, else None."""
    key = login_key(settings, token)
    if key is None:
        return None
    if key.session_id is None:
        row = repo.live_login_by_token_hash(db, key.jti)
    else:
        row = repo.live_login(db, key.session_id, key.user_id or "")
    return principal_of_login(row, key, auth_method)


def principal_of_login(
    row: Any, key: LoginKey, auth_method: str
) -> tuple[Principal, datetime, bool] | None:
    """principal_for_token's answer from a row of repo.LOGIN_COLUMNS (None: no live login)."""
    if row is None or row.current_jti != key.jti:
        return None  # unknown, or logged out, or replaced by /auth/refresh
    principal = Principal(
        session_id=row.session_id,
        user_id=row.user_id,
        username=row.username,
        is_admin=row.is_admin,
        role=row.role,
        auth_method=auth_method,
        token_id=key.jti,
    )
    return principal, row.expires_at, needs_touch(row)


def logout(db: DbSession, principal: Principal, client: ClientInfo) -> None:
    repo.revoke_session(db, principal.session_id)
    audit.add_event(
        db,
        "logout",
        success=True,
        user_id=principal.user_id,
        username=principal.username,
        session_id=principal.session_id,
        ip=client.ip,
        user_agent=client.user_agent,
    )


def refresh(
    db: DbSession, settings: Settings, principal: Principal, client: ClientInfo
) -> LoginSuccess:
    """A new access token for the same session; the presented one stops working."""
    if principal.user_id is None or principal.token_id is None:
        raise Unauthorized("Only a logged-in user's token can be refreshed.", code="login_required")
    token = tokens.issue_token(settings, user_id=principal.user_id, session_id=principal.session_id)
    if not repo.rotate_jti(
        db, principal.session_id, principal.token_id, token.jti, opaque=token.opaque
    ):
        raise Unauthorized("The token was already refreshed or revoked.", code="token_invalid")
    user = repo.user_by_id(db, principal.user_id)
    assert user is not None
    audit.add_event(
        db,
        "token_refreshed",
        success=True,
        user_id=user.id,
        username=user.username,
        session_id=principal.session_id,
        ip=client.ip,
        user_agent=client.user_agent,
    )
    return LoginSuccess(user=public_user(user), session_id=principal.session_id, token=token)


def verify(db: DbSession, principal: Principal) -> VerifyResult:
    if principal.is_api_token and principal.user_id and principal.token_id:
        token = token_repo.owned(db, principal.user_id, principal.token_id)
        user = repo.user_by_id(db, principal.user_id)
        if token is None or token.expires_at is None or user is None:
            raise Unauthorized("The API token no longer exists.", code="api_token_invalid")
        return VerifyResult(
            user=public_user(user), auth_method="api_token", session_expires_at=token.expires_at
        )
    session = db.get(Session, principal.session_id)
    if session is None:
        raise Unauthorized("The session no longer exists.", code="session_invalid")
    user = repo.user_by_id(db, principal.user_id) if principal.user_id else None
    return VerifyResult(
        user=public_user(user) if user else None,
        auth_method=principal.auth_method,
        session_expires_at=session.expires_at,
    )
