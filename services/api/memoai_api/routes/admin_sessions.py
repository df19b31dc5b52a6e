"""Signed-in sessions: list them, revoke one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from memoai.admin import schemas as sc
from memoai.admin import sessions as service
from memoai_api.deps import AdminDep, ClientDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX
from memoai_api.routes.users import ADMIN_ERRORS

router = APIRouter(prefix=f"{API_PREFIX}/admin/sessions", tags=["admin"])


@router.get("", response_model=Envelope[sc.SessionPage], responses=ADMIN_ERRORS)
def list_sessions(
    admin: AdminDep,
    active: bool = True,
    kind: Literal["user", "anonymous"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Envelope[sc.SessionPage]:
    """Sessions by last activity (active only unless active=false)."""
    return ok(service.list_sessions(admin, active=active, kind=kind, limit=limit, offset=offset))


@router.delete(
    "/{session_id}",
    response_model=Envelope[sc.Revoked],
    responses={**ADMIN_ERRORS, 404: {"model": ErrorEnvelope, "description": "No such session"}},
)
def revoke_session(
    session_id: Annotated[str, Path(max_length=64)], admin: AdminDep, client: ClientDep
) -> Envelope[sc.Revoked]:
    """Revoke a session: its next request gets 401."""
    return ok(service.revoke(admin, session_id, client))
