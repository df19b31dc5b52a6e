"""Who is signed in: list sessions and revoke one (it stops working at once)."""

from __future__ import annotations

import structlog

from memoai.admin import repository as repo
from memoai.admin import schemas as sc
from memoai.auth import repository as auth_repo
from memoai.auth.service import ClientInfo
from memoai.platform import audit
from memoai.platform.db import session_scope
from memoai.platform.errors import NotFound
from memoai.platform.identity import Principal
from memoai.platform.storable import storable

log = structlog.get_logger(__name__)


def list_sessions(
    admin: Principal, *, active: bool, kind: str | None, limit: int, offset: int
) -> sc.SessionPage:
    with session_scope(write=False) as db:
        rows, total = repo.list_sessions(db, active=active, kind=kind, limit=limit, offset=offset)
        items = [
            sc.SessionItem(
                id=row.id,
                kind=row.kind,
                user_id=row.user_id,
                username=username,
                ip_address=row.ip_address,
                user_agent=row.user_agent,
                created_at=row.created_at,
                last_activity=row.last_activity_at,
                expires_at=row.expires_at,
                revoked_at=row.revoked_at,
                current=row.id == admin.session_id,
            )
            for row, username in rows
        ]
    return sc.SessionPage(items=items, total=total, limit=limit, offset=offset)


def revoke(admin: Principal, session_id: str, client: ClientInfo) -> sc.Revoked:
    with session_scope() as db:
        row = repo.session_by_id(db, session_id) if storable(session_id) else None
        if row is None:
            raise NotFound("No such session.", field="session_id")
        auth_repo.revoke_session(db, session_id)
        audit.add_event(
            db,
            "session_revoked",
            success=True,
            user_id=row.user_id,
            session_id=session_id,
            ip=client.ip,
            user_agent=client.user_agent,
            details={"by": admin.username, "kind": row.kind},
        )
    log.info("admin.session_revoked", session_id=session_id, by=admin.username)
    return sc.Revoked()
