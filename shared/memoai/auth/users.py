"""Account management: admin CRUD, a user's own password change, the bootstrap admin.

Hashing happens before the write transaction opens (see service.py for why),
so these functions open their own units of work.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from memoai.auth import passwords, policy
from memoai.auth import repository as repo
from memoai.auth.schemas import (
    PasswordChange,
    PasswordChanged,
    UserCreate,
    UserDetail,
    UserPage,
    UserUpdate,
)
from memoai.auth.service import ClientInfo, account_locked
from memoai.config import Settings
from memoai.models import User, utcnow
from memoai.platform import audit
from memoai.platform.db import session_scope
from memoai.platform.errors import Conflict, NotFound, ValidationFailed
from memoai.platform.identity import Principal
from memoai.tokens import service as token_service

log = structlog.get_logger(__name__)


def detail(user: User) -> UserDetail:
    return UserDetail(
        id=user.id,
        username=user.username,
        is_admin=user.is_admin,
        role=user.role,
        is_active=user.is_active,
        created_at=user.created_at,
        updated_at=user.updated_at,
        last_login_at=user.last_login_at,
        password_changed_at=user.password_changed_at,
        locked_until=user.locked_until,
    )


def _taken() -> Conflict:
    return Conflict("That username is already taken.", field="username")


def _role_conflict() -> ValidationFailed:
    return ValidationFailed(
        'is_admin: true and a role other than "admin" contradict each other.', field="role"
    )


def new_role(current: str, is_admin: bool | None, role: str | None) -> str:
    """The role after an update: `role` wins; is_admin is the older boolean view of it."""
    if role is not None:
        if is_admin is True and role != "admin":
            raise _role_conflict()
        return role
    if is_admin is True:
        return "admin"
    if is_admin is False and current == "admin":
        return "user"
    return current


def create_user(
    settings: Settings, actor: Principal | None, body: UserCreate, client: ClientInfo
) -> UserDetail:
    cfg = settings.authentication
    if body.is_admin and body.role not in (None, "admin"):
        raise _role_conflict()
    role = body.effective_role()
    username = policy.check_username(body.username, cfg.username_policy)
    policy.check_password(body.password, cfg.password_policy, username=username)
    password_hash = passwords.hash_password(body.password, cfg.security.bcrypt_rounds)
    try:
        with session_scope() as db:
            if repo.user_by_username(db, username) is not None:
                raise _taken()
            user = repo.add_user(db, username=username, password_hash=password_hash, role=role)
            _event(
                db, "user_created", actor, user, client, {"is_admin": role == "admin", "role": role}
            )
            return detail(user)
    except IntegrityError as exc:  # a concurrent create won the unique index
        raise _taken() from exc


def list_users(limit: int, offset: int, role: str | None = None) -> UserPage:
    with session_scope(write=False) as db:
        rows, total = repo.list_users(db, limit=limit, offset=offset, role=role)
        return UserPage(items=[detail(u) for u in rows], total=total, limit=limit, offset=offset)


def get_user(user_id: str) -> UserDetail:
    with session_scope(write=False) as db:
        user = repo.user_by_id(db, user_id)
        if user is None:
            raise NotFound("User not found.", field="user_id")
        return detail(user)


def update_user(
    settings: Settings, actor: Principal, user_id: str, body: UserUpdate, client: ClientInfo
) -> UserDetail:
    cfg = settings.authentication
    fields = body.model_fields_set - {k for k, v in body if v is None}
    if body.is_admin is True and body.role not in (None, "admin"):
        raise _role_conflict()
    if body.username is not None:
        policy.check_username(body.username, cfg.username_policy)
    new_hash = None
    if body.password is not None:
        policy.check_password(body.password, cfg.password_policy, username=body.username)
        new_hash = passwords.hash_password(body.password, cfg.security.bcrypt_rounds)
    try:
        with session_scope() as db:
            user = repo.user_by_id(db, user_id, for_update=True)
            if user is None:
                raise NotFound("User not found.", field="user_id")
            if body.username is not None and body.username != user.username:
                other = repo.user_by_username(db, body.username)
                if other is not None and other.id != user.id:
                    raise _taken()
                user.username = body.username
            role = new_role(user.role, body.is_admin, body.role)
            removes_admin = user.is_admin and (role != "admin" or body.is_active is False)
            if removes_admin and user.is_active and repo.active_admin_count(db) <= 1:
                raise Conflict(
                    "This is the last active admin; make another admin first.",
                    field=(
                        "is_active"
                        if role == "admin"
                        else "role"
                        if body.role is not None
                        else "is_admin"
                    ),
                )
            user.role = role
            revoked = tokens_revoked = 0
            deactivated = False
            if body.is_active is not None and body.is_active != user.is_active:
                user.is_active = body.is_active
                deactivated = not body.is_active
            if deactivated or new_hash is not None:
                # A reset or a deactivation is how an admin locks someone out
                # (a stolen password, a leaver): every way in ends now, API
                # tokens included, and none comes back with a reactivation.
                revoked = repo.revoke_user_sessions(db, user.id)
                tokens_revoked = token_service.revoke_all(db, user.id)
            if new_hash is not None:
                user.password_hash = new_hash
                user.password_changed_at = utcnow()
            if body.unlock:
                user.locked_until = None
                user.failed_login_count = 0
            event = (
                "user_deactivated"
                if body.is_active is False
                else "password_reset"
                if new_hash is not None
                else "user_updated"
            )
            _event(
                db,
                event,
                actor,
                user,
                client,
                {
                    "fields": sorted(fields),
                    "sessions_revoked": revoked,
                    "tokens_revoked": tokens_revoked,
                },
            )
            db.flush()
            return detail(user)
    except IntegrityError as exc:
        raise _taken() from exc


def change_own_password(
    settings: Settings, principal: Principal, body: PasswordChange, client: ClientInfo
) -> PasswordChanged:
    """Needs the current password. With sign_out_everywhere (the default) the user's
    other sessions and all their API tokens are revoked; this session goes on."""
    cfg = settings.authentication
    if principal.user_id is None:
        raise ValidationFailed("Log in to change your password.")
    with session_scope(write=False) as db:
        user = repo.user_by_id(db, principal.user_id)
        if user is None:
            raise NotFound("User not found.")
        current_hash, username, locked_until = user.password_hash, user.username, user.locked_until
    if locked_until is not None and locked_until > utcnow():
        raise account_locked(settings, locked_until)
    if not passwords.verify_password(body.current_password, current_hash):
        # A wrong current password counts like a failed login: a stolen session
        # must not become an unlimited password oracle.
        with session_scope() as db:
            until = repo.register_failure(
                db,
                principal.user_id,
                max_attempts=cfg.security.max_login_attempts,
                lockout_seconds=cfg.security.lockout_duration,
            )
            _event(db, "password_change_failed", principal, user, client, {}, success=False)
        if until is not None:
            raise account_locked(settings, until)
        raise ValidationFailed("The current password is wrong.", field="current_password")
    policy.check_password(
        body.new_password, cfg.password_policy, username=username, field="new_password"
    )
    if body.new_password == body.current_password:
        raise ValidationFailed(
            "The new password must differ from the current one.", field="new_password"
        )
    new_hash = passwords.hash_password(body.new_password, cfg.security.bcrypt_rounds)
    with session_scope() as db:
        row = repo.user_by_id(db, principal.user_id, for_update=True)
        if row is None:
            raise NotFound("User not found.")
        row.password_hash = new_hash
        row.password_changed_at = utcnow()
        revoked = tokens_revoked = 0
        if body.sign_out_everywhere:
            revoked = repo.revoke_user_sessions(db, row.id, except_session=principal.session_id)
            tokens_revoked = token_service.revoke_all(db, row.id)
        _event(
            db,
            "password_changed",
            principal,
            row,
            client,
            {
                "sign_out_everywhere": body.sign_out_everywhere,
                "sessions_revoked": revoked,
                "tokens_revoked": tokens_revoked,
            },
        )
    return PasswordChanged(
        signed_out_everywhere=body.sign_out_everywhere,
        sessions_revoked=revoked,
        tokens_revoked=tokens_revoked,
    )


def create_admin(settings: Settings, username: str, password: str) -> UserDetail:
    """`memoai create-admin`: the policy applies; an existing username is a Conflict."""
    return create_user(
        settings,
        None,
        UserCreate(username=username, password=password, is_admin=True),
        ClientInfo(ip=None, user_agent="memoai create-admin"),
    )


def ensure_bootstrap_admin(settings: Settings) -> str | None:
    """ADMIN_USERNAME/ADMIN_PASSWORD: create that admin if no admin exists yet.

    Safe with several API replicas starting at once: the loser of the race
    hits the unique username and leaves the winner's account alone. Returns
    the username created, if any.
    """
    boot = settings.authentication.bootstrap_admin
    if not boot.username or not boot.password:
        return None
    with session_scope(write=False) as db:
        if repo.any_admin(db):
            return None
        existing = repo.user_by_username(db, boot.username)
    if existing is not None:
        # Never promote an existing account from the environment: that would
        # turn control of one env var into control of someone else's login.
        log.error("auth.bootstrap_admin_skipped", reason="username exists and is not an admin")
        return None
    try:
        create_admin(settings, boot.username, boot.password)
    except Conflict:
        return None
    log.warning("auth.bootstrap_admin_created", username=boot.username)
    return boot.username


def _event(
    db: DbSession,
    event_type: str,
    actor: Principal | None,
    user: User | None,
    client: ClientInfo,
    details: dict[str, Any],
    *,
    success: bool = True,
) -> None:
    if actor is not None:
        details = {**details, "actor_id": actor.user_id, "actor": actor.username}
    audit.add_event(
        db,
        event_type,
        success=success,
        user_id=user.id if user else None,
        username=user.username if user else None,
        session_id=actor.session_id if actor else None,
        ip=client.ip,
        user_agent=client.user_agent,
        details=details,
    )
