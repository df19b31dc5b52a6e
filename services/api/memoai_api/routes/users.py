"""Accounts: admin-managed users and a user's own password change."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from memoai.auth import users
from memoai.auth.schemas import (
    PasswordChange,
    PasswordChanged,
    UserCreate,
    UserDetail,
    UserPage,
    UserUpdate,
)
from memoai_api.deps import AdminDep, ClientDep, JsonBody, LoginDep, SettingsDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["users"])

UserId = Annotated[str, Path(max_length=64, description="The user's id")]
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "Not logged in"},
    403: {"model": ErrorEnvelope, "description": "Not an admin, or missing X-CSRF-Token"},
    429: {"model": ErrorEnvelope, "description": "Too many admin operations"},
}


class UserResult(BaseModel):
    user: UserDetail


@router.post(
    "",
    status_code=201,
    response_model=Envelope[UserResult],
    dependencies=[JsonBody],
    responses={
        **ADMIN_ERRORS,
        409: {"model": ErrorEnvelope, "description": "Username taken"},
        422: {"model": ErrorEnvelope, "description": "Username or password policy not met"},
    },
)
def create_user(
    body: UserCreate, admin: AdminDep, settings: SettingsDep, client: ClientDep
) -> Envelope[UserResult]:
    """Create an account (admin only)."""
    return ok(UserResult(user=users.create_user(settings, admin, body, client)))


@router.get("", response_model=Envelope[UserPage], responses=ADMIN_ERRORS)
def list_users(
    _admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    role: Annotated[
        Literal["user", "coach", "admin"] | None, Query(description="Only accounts with this role")
    ] = None,
) -> Envelope[UserPage]:
    """All accounts (or those of one role), oldest first (admin only)."""
    return ok(users.list_users(limit, offset, role))


@router.put(
    "/me/password",
    response_model=Envelope[PasswordChanged],
    dependencies=[JsonBody],
    responses={
        401: ADMIN_ERRORS[401],
        422: {"model": ErrorEnvelope, "description": "Wrong current password or weak new one"},
        429: {"model": ErrorEnvelope, "description": "Account locked"},
    },
)
def change_password(
    body: PasswordChange, user: LoginDep, settings: SettingsDep, client: ClientDep
) -> Envelope[PasswordChanged]:
    """Change your own password; by default your other sessions and API tokens are revoked."""
    return ok(users.change_own_password(settings, user, body, client))


@router.get(
    "/{user_id}",
    response_model=Envelope[UserResult],
    responses={**ADMIN_ERRORS, 404: {"model": ErrorEnvelope, "description": "No such user"}},
)
def get_user(user_id: UserId, _admin: AdminDep) -> Envelope[UserResult]:
    """One account (admin only)."""
    return ok(UserResult(user=users.get_user(user_id)))


@router.put(
    "/{user_id}",
    response_model=Envelope[UserResult],
    dependencies=[JsonBody],
    responses={
        **ADMIN_ERRORS,
        404: {"model": ErrorEnvelope, "description": "No such user"},
        409: {"model": ErrorEnvelope, "description": "Username taken, or the last admin"},
        422: {"model": ErrorEnvelope, "description": "Policy not met"},
    },
)
def update_user(
    user_id: UserId, body: UserUpdate, admin: AdminDep, settings: SettingsDep, client: ClientDep
) -> Envelope[UserResult]:
    """Change, set the role of, reset the password of, unlock or deactivate an account (admin only).

    Deactivating or resetting the password logs the account out everywhere and
    revokes all its API tokens.
    """
    return ok(UserResult(user=users.update_user(settings, admin, user_id, body, client)))
