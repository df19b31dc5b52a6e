"""API-facing account models (request bodies and response data)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

# Bounds checked before any policy or hashing work; the policy itself comes
# from auth.yaml and is enforced by the service (422 naming the field).
Username = Annotated[StrictStr, Field(min_length=1, max_length=128)]
Password = Annotated[StrictStr, Field(min_length=1, max_length=256)]
# user: a writer; coach: may coach cohorts; admin: everything. is_admin == (role == "admin").
Role = Literal["user", "coach", "admin"]


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "alice", "password": "a long passphrase 7"}]},
    )

    username: Username
    password: Password


class UserPublic(BaseModel):
    id: str
    username: str
    is_admin: bool
    role: Role = Field(
        description='"user" (a writer), "coach" or "admin"; is_admin is role == admin'
    )


class UserDetail(UserPublic):
    is_active: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None
    password_changed_at: datetime | None
    locked_until: datetime | None


class LoginResult(BaseModel):
    user: UserPublic
    access_token: str = Field(description="JWT; send as `Authorization: Bearer <token>`")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type name
    expires_at: datetime
    csrf_token: str = Field(
        description="Also set as a cookie; echo it in X-CSRF-Token on cookie-authenticated "
        "POST/PUT/DELETE requests"
    )


class VerifyResult(BaseModel):
    valid: Literal[True] = True
    user: UserPublic | None = Field(description="None for an anonymous session")
    auth_method: Literal["session", "cookie", "bearer", "api_token"]
    session_expires_at: datetime


class LogoutResult(BaseModel):
    logged_out: Literal[True] = True


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"username": "coach.maria", "password": "a long passphrase 7", "role": "coach"}
            ]
        },
    )

    username: Username
    password: Password
    is_admin: StrictBool = False
    role: Role | None = Field(
        default=None, description="Defaults to admin when is_admin is true, else user"
    )

    def effective_role(self) -> str:
        return self.role or ("admin" if self.is_admin else "user")


class UserUpdate(BaseModel):
    """Only the fields sent are changed. `is_active: false` deactivates the account."""

    model_config = ConfigDict(extra="forbid")

    username: Username | None = None
    password: Password | None = None
    is_admin: StrictBool | None = Field(
        default=None, description="true makes an admin; false turns an admin into a user"
    )
    role: Role | None = None
    is_active: StrictBool | None = None
    unlock: StrictBool | None = Field(
        default=None, description="true clears a lockout and the failed-login count"
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Password
    new_password: Password
    # On by default: a password is usually changed because it may be known to
    # someone else, and then every other login and API token must stop at once.
    sign_out_everywhere: bool = Field(
        default=True,
        strict=True,
        description=(
            "Revoke your other sessions and all your API tokens (default). With false, "
            "other sessions and tokens keep working; only the password changes."
        ),
    )


class PasswordChanged(BaseModel):
    password_changed: bool = True
    signed_out_everywhere: bool
    sessions_revoked: int = Field(description="Your other sessions that were logged out")
    tokens_revoked: int = Field(description="Your API tokens that were revoked")


class UserPage(BaseModel):
    items: list[UserDetail]
    total: int
    limit: int
    offset: int


class AuthEventPublic(BaseModel):
    id: int
    event_type: str
    success: bool
    user_id: str | None
    username: str | None
    session_id: str | None
    ip_address: str | None
    user_agent: str | None
    details: dict[str, Any] | None
    created_at: datetime


class AuthEventPage(BaseModel):
    items: list[AuthEventPublic]
    total: int
    limit: int
    offset: int
