"""Schema of ``auth.yaml``: authentication and the API documentation settings.

Owns the JWT and session cookies, bcrypt cost and lockout, password and
username policies, the bootstrap admin read from the environment, and the
OpenAPI page settings that live in the same file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from memoai.config.schemas.common import OptStr, PosInt, Strict, Text


class JwtConfig(Strict):
    secret_key: OptStr = None
    algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    expiration_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 24
    # The httpOnly cookie that carries the access token for browsers.
    cookie_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] = "memoai_access"


class SessionConfig(Strict):
    timeout: PosInt = 3600
    secure_cookies: bool = False
    csrf_protection: bool = True
    cookie_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] = "memoai_session"


class AuthSecurity(Strict):
    bcrypt_rounds: Annotated[int, Field(ge=4, le=16)] = 12
    max_login_attempts: PosInt = 5
    lockout_duration: PosInt = 900


class PasswordPolicy(Strict):
    min_length: Annotated[int, Field(ge=8, le=128)] = 12
    require_letter: bool = True
    require_digit: bool = True


class UsernamePolicy(Strict):
    min_length: PosInt = 3
    max_length: PosInt = 64
    pattern: str = r"^[A-Za-z0-9_.@-]+$"


class BootstrapAdmin(Strict):
    """ADMIN_USERNAME / ADMIN_PASSWORD: created at API start-up when no admin exists."""

    username: OptStr = None
    password: OptStr = Field(default=None, repr=False)


class Authentication(Strict):
    enabled: bool = False
    mode: Literal["jwt_session", "session_only"] = "jwt_session"
    jwt: JwtConfig = JwtConfig()
    session: SessionConfig = SessionConfig()
    security: AuthSecurity = AuthSecurity()
    password_policy: PasswordPolicy = PasswordPolicy()
    username_policy: UsernamePolicy = UsernamePolicy()
    bootstrap_admin: BootstrapAdmin = BootstrapAdmin()


class OpenApiDocs(Strict):
    title: Text = "Memo AI Coach API"
    version: Text = "1.0.0"
    description: str = ""
    interactive_docs: bool = True
    include_schemas: bool = True
    rate_limit_per_minute: PosInt = 60


class ApiDocumentation(Strict):
    openapi: OpenApiDocs = OpenApiDocs()


class AuthFile(Strict):
    authentication: Authentication
    api_documentation: ApiDocumentation = ApiDocumentation()
