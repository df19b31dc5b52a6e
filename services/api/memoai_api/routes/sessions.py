"""Anonymous sessions."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from memoai.db import session_scope
from memoai.sessions import service as sessions
from memoai_api.deps import SettingsDep, session_token
from memoai_api.envelope import Envelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/sessions", tags=["sessions"])


class SessionCreated(BaseModel):
    session_id: str
    expires_at: datetime


class SessionValidity(BaseModel):
    valid: bool
    expires_at: datetime | None = None


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("", status_code=201, response_model=Envelope[SessionCreated])
def create_session(
    request: Request, response: Response, settings: SettingsDep
) -> Envelope[SessionCreated]:
    """Start an anonymous session; the id is also set as an httpOnly cookie."""
    cfg = settings.authentication.session
    with session_scope() as db:
        created = sessions.create_anonymous(
            db,
            timeout_seconds=cfg.timeout,
            ip=_client_ip(request),
            user_agent=request.headers.get("user-agent"),
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
    return ok(SessionCreated(session_id=created.token, expires_at=created.session.expires_at))


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
