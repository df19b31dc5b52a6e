"""Dependencies shared by the routes (Annotated aliases, as in the FastAPI template)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from memoai.config import Settings, get_settings
from memoai.db import session_scope
from memoai.errors import Unauthorized, UnsupportedMediaType
from memoai.identity import Principal
from memoai.sessions import service as sessions

SettingsDep = Annotated[Settings, Depends(get_settings)]

SESSION_HEADER = "x-session-id"


def session_token(request: Request, settings: Settings) -> str | None:
    header = request.headers.get(SESSION_HEADER)
    if header:
        return header.strip()
    return request.cookies.get(settings.authentication.session.cookie_name)


def current_principal(request: Request, settings: SettingsDep) -> Principal:
    """The caller's session (cookie or X-Session-ID); 401 when there is none."""
    token = session_token(request, settings)
    if not token:
        raise Unauthorized(
            "A session is required: create one with POST /api/v1/sessions and send it in "
            "the X-Session-ID header or the session cookie.",
            code="session_required",
        )
    timeout = settings.authentication.session.timeout
    with session_scope(write=False) as db:
        row = sessions.resolve_token(db, token)
        needs_touch = row is not None and sessions.needs_touch(row)
    if row is None:
        raise Unauthorized("The session is unknown or has expired.", code="session_invalid")
    if needs_touch:
        with session_scope() as db:
            sessions.touch(db, row.id, timeout)
    principal = Principal(session_id=row.id, user_id=row.user_id)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_json(request: Request) -> None:
    """415 for a body that is not JSON, before any parsing."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            "Send the request body as JSON with Content-Type: application/json.",
            details={"content_type": content_type or None},
        )


JsonBody = Depends(require_json)
