"""The audit trail of sign-ins and credentials (the `auth_events` table).

Written by auth (logins, password changes), tokens (API tokens created or revoked)
and admin (sessions revoked), so it sits below all of them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session as DbSession

from memoai.models import AuthEvent
from memoai.platform.storable import make_storable


def add_event(
    db: DbSession,
    event_type: str,
    *,
    success: bool,
    user_id: str | None = None,
    username: str | None = None,
    session_id: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    db.add(
        AuthEvent(
            event_type=event_type,
            success=success,
            user_id=user_id,
            # Stored verbatim but bounded: a failed login may carry any string.
            username=make_storable(username)[:64] if username else username,
            session_id=session_id,
            ip_address=ip[:64] if ip else ip,
            user_agent=make_storable(user_agent)[:512] if user_agent else user_agent,
            details=details,
        )
    )
