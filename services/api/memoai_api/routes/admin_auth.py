"""The authentication audit trail (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from memoai.admin import auth_config
from memoai.admin import schemas as sc
from memoai.auth import repository as repo
from memoai.auth.schemas import AuthEventPage, AuthEventPublic
from memoai.platform.db import session_scope
from memoai_api.deps import AdminDep, JsonBody, SettingsDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX
from memoai_api.routes.users import ADMIN_ERRORS

router = APIRouter(prefix=f"{API_PREFIX}/admin/auth", tags=["admin"])


@router.get("/events", response_model=Envelope[AuthEventPage], responses=ADMIN_ERRORS)
def auth_events(
    _admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    event_type: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
    username: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    user_id: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9-]+$")] = None,
) -> Envelope[AuthEventPage]:
    """Logins, failures, lockouts, logouts, account and cohort membership changes, newest first."""
    with session_scope(write=False) as db:
        rows, total = repo.list_events(
            db,
            limit=limit,
            offset=offset,
            event_type=event_type,
            username=username,
            user_id=user_id,
        )
        items = [AuthEventPublic.model_validate(r, from_attributes=True) for r in rows]
    return ok(AuthEventPage(items=items, total=total, limit=limit, offset=offset))


@router.get("/config", response_model=Envelope[sc.AuthConfig], responses=ADMIN_ERRORS)
def get_auth_config(_admin: AdminDep, settings: SettingsDep) -> Envelope[sc.AuthConfig]:
    """The authentication settings in auth.yaml (secrets never shown)."""
    return ok(auth_config.get_auth_config(settings))


@router.put(
    "/config",
    response_model=Envelope[sc.AuthConfigSaved],
    dependencies=[JsonBody],
    responses={
        **ADMIN_ERRORS,
        400: {"model": ErrorEnvelope, "description": "The result fails the auth.yaml schema"},
        422: {"model": ErrorEnvelope, "description": "A value out of range"},
        503: {"model": ErrorEnvelope, "description": "The config directory cannot be written"},
    },
)
def put_auth_config(
    body: sc.AuthConfigUpdate, admin: AdminDep, settings: SettingsDep
) -> Envelope[sc.AuthConfigSaved]:
    """Change authentication settings in auth.yaml (versioned; takes effect after a restart)."""
    return ok(auth_config.update_auth_config(settings, admin, body))
