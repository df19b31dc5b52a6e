"""Who is calling: a session, and the user behind it when logged in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement


@dataclass(frozen=True)
class Principal:
    session_id: str  # internal session row id, never the secret token
    user_id: str | None = None
    username: str | None = None
    is_admin: bool = False
    role: str = "user"  # user | coach | admin (an API token is never admin)
    # session | cookie | bearer | api_token | local (`memoai evaluate --user`, on this machine)
    auth_method: str = "session"
    token_id: str | None = None  # the access token's jti, or the API token's row id
    scopes: tuple[str, ...] = ()  # an API token's scopes; empty for every other method

    @property
    def is_user(self) -> bool:
        return self.user_id is not None

    @property
    def is_api_token(self) -> bool:
        return self.auth_method == "api_token"

    @property
    def session_fk(self) -> str | None:
        """The sessions row to record on new rows; None for an API token or a local
        user, which have none."""
        return None if self.auth_method in ("api_token", "local") else self.session_id

    @property
    def owner_key(self) -> str:
        return f"user:{self.user_id}" if self.user_id else f"session:{self.session_id}"

    def owns(self, model: Any) -> ColumnElement[bool]:
        """SQL filter: rows belonging to this caller (a user's rows span sessions)."""
        if self.user_id:
            return model.user_id == self.user_id  # type: ignore[no-any-return]
        return model.session_id == self.session_id  # type: ignore[no-any-return]
