"""Anonymous sessions."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from memoai.platform.db import session_scope
from memoai.sessions import service as sessions
from memoai_api.deps import ClientDep, SettingsDep, csrf_enabled, session_token, set_csrf_cookie
from memoai_api.envelope import Envelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/sessions", tags=["sessions"])


class SessionCreated(BaseModel):
    session_id: str = Field(description="The session's secret token (also set as a cookie)")
    expires_at: datetime
    csrf_token: str | None = Field(
        default=None,
        description="Echo in X-CSRF-Token when the session cookie (not the header) "
        "authenticates a POST/PUT/DELETE",
    )


class SessionValidity(BaseModel):
    valid: bool
    expires_at: datetime | None = None


@router.post("", status_code=201, response_model=Envelope[SessionCreated])
def create_session(
    response: Response, settings: SettingsDep, client: ClientDep
) -> Envelope[SessionCreated]:
    """Start an anonymous session; the id is also set as an httpOnly cookie."""
    cfg = settings.authentication.session
    with session_scope() as db:
        created = sessions.create_anonymous(
            db, timeout_seconds=cfg.timeout, ip=client.ip, user_agent=client.user_agent
        )
    response.set_cookie(
        cfg.cookie_name,
        created.token,
        max_age=cfg.timeout,
        httponly=True,
        secure=cfg.secure_cookies,
        samesite="lax",
        path="/",
    )
    csrf = (
        set_csrf_cookie(response, settings, created.session.id) if csrf_enabled(settings) else None
    )
    return ok(
        SessionCreated(
            session_id=created.token, expires_at=created.session.expires_at, csrf_token=csrf
        )
    )


@router.post("/validate", response_model=Envelope[SessionValidity])
def validate_session(request: Request, settings: SettingsDep) -> Envelope[SessionValidity]:
    """Whether the session in the cookie or X-Session-ID header is still valid."""
    token = session_token(request, settings)
    if not token:
        return ok(SessionValidity(valid=False))
    with session_scope(write=False) as db:
        row = sessions.resolve_token(db, token)
    if row is None:
        return ok(SessionValidity(valid=False))
    return ok(SessionValidity(valid=True, expires_at=row.expires_at))
