"""Dependencies shared by the routes (Annotated aliases, as in the FastAPI template).

Who is calling, in order of precedence:
1. `Authorization: Bearer <access token>` - integrators; no CSRF (a browser
   never attaches this header to a cross-site request on its own). A bearer
   value starting with `mac_` is a personal API token (memoai.tokens): its
   scopes gate unsafe methods, and it never manages tokens or reaches admin.
2. `X-Session-ID: <anonymous session token>` - same reasoning, no CSRF.
3. The httpOnly access-token cookie set by /auth/login.
4. The httpOnly anonymous-session cookie set by POST /sessions.
Cookies ride along on cross-site requests, so 3 and 4 need the double-submit
`X-CSRF-Token` header on POST/PUT/PATCH/DELETE.

FastAPI runs every plain `def` dependency in the thread pool, and each hop
there costs more CPU than the check itself (the profile in docs/benchmarks.md).
So the dependencies are `async def`: pure checks run inline, and only the
database lookup (and a Redis rate limiter) go to a thread.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyHeader, HTTPBearer

from memoai.auth import tokens
from memoai.auth.service import ClientInfo, principal_for_token
from memoai.config import Settings, get_settings
from memoai.platform.db import read_connection, session_scope
from memoai.platform.errors import Forbidden, Unauthorized, UnsupportedMediaType
from memoai.platform.identity import Principal
from memoai.platform.ratelimit import Decision, RateLimiter, Scope
from memoai.sessions import service as sessions
from memoai.tokens import service as api_tokens
from memoai_api.threads import read


async def settings_dependency() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dependency)]

SESSION_HEADER = "x-session-id"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared for OpenAPI (the /docs "Authorize" button and schema-driven tests);
# the headers themselves are read below so that precedence and errors are ours.
_bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="The access_token from POST /api/v1/auth/login, or an API token (mac_…) "
    "from POST /api/v1/tokens",
)
_session_scheme = APIKeyHeader(
    name="X-Session-ID",
    auto_error=False,
    scheme_name="session",
    description="An anonymous session from POST /api/v1/sessions (when AUTH_ENABLED=false)",
)


def client_ip(request: Request) -> str | None:
    # uvicorn rewrites request.client from X-Forwarded-For only for trusted
    # proxies (FORWARDED_ALLOW_IPS), so a caller cannot choose its own address.
    return request.client.host if request.client else None


async def client_info(request: Request) -> ClientInfo:
    agent = request.headers.get("user-agent")
    return ClientInfo(ip=client_ip(request), user_agent=agent[:512] if agent else None)


ClientDep = Annotated[ClientInfo, Depends(client_info)]


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


def apply_rate_headers(request: Request, response: Response, decision: Decision) -> None:
    """Report the tightest limit this request counted against."""
    current: Decision | None = getattr(request.state, "rate_decision", None)
    if current is None or decision.remaining < current.remaining:
        request.state.rate_decision = decision
        for name, value in decision.headers().items():
            response.headers[name] = value


async def enforce(
    limiter: RateLimiter, scope: Scope, *, caller: str | None, ip: str | None, cost: int = 1
) -> Decision:
    """limiter.enforce, inline when counted in memory, awaiting Redis otherwise."""
    return await limiter.enforce_async(scope, caller=caller, ip=ip, cost=cost)


async def limit_requests_by_ip(request: Request, response: Response, limiter: LimiterDep) -> None:
    """requests_per_minute x ip_multiplier for the client address, on every API route."""
    decision = await enforce(limiter, Scope.REQUESTS, caller=None, ip=client_ip(request))
    apply_rate_headers(request, response, decision)


def session_token(request: Request, settings: Settings) -> str | None:
    header = request.headers.get(SESSION_HEADER)
    if header:
        return header.strip()
    return request.cookies.get(settings.authentication.session.cookie_name)


# ------------------------------------------------------------------ cookies


def csrf_enabled(settings: Settings) -> bool:
    return settings.authentication.session.csrf_protection and (
        settings.security.csrf_protection.enabled
    )


def set_csrf_cookie(response: Response, settings: Settings, session_id: str) -> str:
    token = tokens.issue_csrf_token(settings, session_id)
    response.set_cookie(
        settings.security.csrf_protection.cookie_name,
        token,
        max_age=settings.security.csrf_protection.token_expiry,
        httponly=False,  # the page's script reads it and echoes it in X-CSRF-Token
        secure=settings.authentication.session.secure_cookies,
        samesite="strict",
        path="/",
    )
    return token


def set_access_cookie(response: Response, settings: Settings, token: tokens.AccessToken) -> None:
    response.set_cookie(
        settings.authentication.jwt.cookie_name,
        token.token,
        expires=token.expires_at,
        httponly=True,
        secure=settings.authentication.session.secure_cookies,
        samesite="strict",
        path="/",
    )


def clear_auth_cookies(response: Response, settings: Settings) -> None:
    secure = settings.authentication.session.secure_cookies
    for name, httponly in (
        (settings.authentication.jwt.cookie_name, True),
        (settings.security.csrf_protection.cookie_name, False),
    ):
        response.delete_cookie(name, path="/", secure=secure, httponly=httponly, samesite="strict")


def _check_csrf(
    request: Request, response: Response, settings: Settings, principal: Principal
) -> None:
    if not csrf_enabled(settings):
        return
    cookie = request.cookies.get(settings.security.csrf_protection.cookie_name)
    if request.method in SAFE_METHODS:
        # Keep a valid token in the cookie, so a page that only reads stays able to write.
        age = tokens.csrf_age(settings, principal.session_id, cookie)
        if age is None or age > settings.security.csrf_protection.token_expiry / 2:
            set_csrf_cookie(response, settings, principal.session_id)
        return
    header = request.headers.get(CSRF_HEADER)
    if (
        header
        and cookie
        and hmac.compare_digest(header, cookie)
        and tokens.csrf_age(settings, principal.session_id, header) is not None
    ):
        return
    # The refusal carries a fresh cookie: a legitimate page whose token had
    # expired can retry; a cross-site attacker cannot read the cookie.
    fresh = Response()
    set_csrf_cookie(fresh, settings, principal.session_id)
    raise Forbidden(
        "Cookie-authenticated requests that change data need the X-CSRF-Token header "
        f"with the value of the {settings.security.csrf_protection.cookie_name} cookie.",
        code="csrf_failed",
        headers={"Set-Cookie": fresh.headers["set-cookie"]},
    )


# ------------------------------------------------------------------ identity


@dataclass(frozen=True)
class Credential:
    """The credential a request carries, by the precedence above (not yet looked up)."""

    kind: Literal["api_token", "access", "session"]
    token: str
    method: str  # how an access token came: "bearer" or "cookie"
    by_cookie: bool


def credential_of(request: Request, settings: Settings) -> Credential:
    """The request's credential; raises 401 for a malformed or missing one."""
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "Send the token as 'Authorization: Bearer <access_token>'.", code="token_invalid"
            )
        token = token.strip()
        if api_tokens.looks_like_api_token(token):
            return Credential("api_token", token, "bearer", False)
        return Credential("access", token, "bearer", False)
    header = request.headers.get(SESSION_HEADER)
    if header:
        return Credential("session", header.strip(), "session", False)
    access_cookie = request.cookies.get(settings.authentication.jwt.cookie_name)
    if access_cookie:
        return Credential("access", access_cookie, "cookie", True)
    session_cookie = request.cookies.get(settings.authentication.session.cookie_name)
    if session_cookie:
        return Credential("session", session_cookie, "session", True)
    if settings.authentication.enabled:
        raise Unauthorized(
            "Log in with POST /api/v1/auth/login and send the access token "
            "(Authorization: Bearer) or the login cookie.",
            code="login_required",
        )
    raise Unauthorized(
        "A session is required: create one with POST /api/v1/sessions and send it in "
        "the X-Session-ID header or the session cookie.",
        code="session_required",
    )


def resolve_credential(request: Request, settings: Settings) -> tuple[Principal, bool]:
    """(principal, authenticated by cookie); raises 401 for a bad or missing credential."""
    credential = credential_of(request, settings)
    if credential.kind == "api_token":
        return _from_api_token(credential.token, settings), False
    if credential.kind == "access":
        return _from_access_token(credential.token, credential.method, settings), (
            credential.by_cookie
        )
    return _from_session_token(credential.token, settings), credential.by_cookie


def _from_access_token(token: str, method: str, settings: Settings) -> Principal:
    with read_connection() as db:
        found = principal_for_token(db, settings, token, method)
    return login_principal(found, settings)


def login_principal(
    found: tuple[Principal, datetime, bool] | None, settings: Settings
) -> Principal:
    """The caller from principal_for_token's answer: 401 for None, and the
    session's activity recorded when it is due."""
    if found is None:
        raise Unauthorized(
            "The access token is invalid, expired or revoked; log in again.",
            code="token_invalid",
        )
    principal, _expires, needs_touch = found
    if needs_touch:
        with session_scope() as db:
            sessions.touch(db, principal.session_id, settings.authentication.session.timeout)
    return principal


def _from_api_token(token: str, settings: Settings) -> Principal:
    with read_connection() as db:
        found = api_tokens.resolve(db, token)
    if found is None:
        # An opaque session_only login token is random too, and one in 64^4
        # starts with "mac_": it must still work as the login it is.
        try:
            return _from_access_token(token, "bearer", settings)
        except Unauthorized:
            raise Unauthorized(
                "The API token is unknown, expired or revoked.", code="api_token_invalid"
            ) from None
    principal, _expires, needs_touch = found
    if needs_touch:
        with session_scope() as db:
            api_tokens.touch(db, principal.session_id)
    return principal


def _from_session_token(token: str, settings: Settings) -> Principal:
    with read_connection() as db:
        row = sessions.lookup_token(db, token)
    return session_principal(row, settings)


def session_principal(row: sessions.TokenSession | None, settings: Settings) -> Principal:
    """The anonymous caller from sessions.lookup_token's answer: 401 for None
    (or a login's session, or with anonymous sessions off), and the session's
    activity recorded when it is due."""
    if row is None or row.kind != "anonymous":
        raise Unauthorized("The session is unknown or has expired.", code="session_invalid")
    if settings.authentication.enabled:
        raise Unauthorized(
            "Anonymous sessions are switched off (AUTH_ENABLED=true): log in with "
            "POST /api/v1/auth/login.",
            code="login_required",
        )
    if sessions.needs_touch(row):
        with session_scope() as db:
            sessions.touch(db, row.id, settings.authentication.session.timeout)
    return Principal(session_id=row.id, auth_method="session")


async def current_principal(
    request: Request,
    response: Response,
    settings: SettingsDep,
    limiter: LimiterDep,
    _bearer: Annotated[object, Depends(_bearer_scheme)] = None,
    _session: Annotated[object, Depends(_session_scheme)] = None,
) -> Principal:
    """The caller: a logged-in user or (with AUTH_ENABLED=false) an anonymous session."""
    # The credential is looked up in the database (on the loop on SQLite).
    principal, by_cookie = await read(resolve_credential, request, settings)
    return await admit(request, response, settings, limiter, principal, by_cookie)


def _require_write_scope(principal: Principal) -> None:
    if principal.is_api_token and "write" not in principal.scopes:
        raise Forbidden(
            "This API token is read-only: this needs a token with the 'write' scope.",
            code="insufficient_scope",
        )


def _check_scope(request: Request, principal: Principal) -> None:
    if request.method not in SAFE_METHODS:
        _require_write_scope(principal)


async def admit(
    request: Request,
    response: Response,
    settings: Settings,
    limiter: RateLimiter,
    principal: Principal,
    by_cookie: bool,
) -> Principal:
    """What follows the credential lookup: CSRF, token scope, the caller's rate limit."""
    if by_cookie:
        _check_csrf(request, response, settings, principal)
    if principal.is_api_token:
        _check_scope(request, principal)
    decision = await enforce(limiter, Scope.REQUESTS, caller=principal.owner_key, ip=None)
    apply_rate_headers(request, response, decision)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def current_user(principal: PrincipalDep) -> Principal:
    """A logged-in user (any role)."""
    if principal.user_id is None:
        raise Unauthorized("This needs a logged-in user.", code="login_required")
    return principal


UserDep = Annotated[Principal, Depends(current_user)]


async def current_login(principal: UserDep) -> Principal:
    """A user signed in with a password (not an API token): token and account management."""
    if principal.is_api_token:
        raise Forbidden(
            "API tokens cannot do this: sign in with a username and password.",
            code="login_required",
        )
    return principal


LoginDep = Annotated[Principal, Depends(current_login)]


async def not_api_token(principal: PrincipalDep) -> Principal:
    """Any caller except an API token (logout: a token is revoked, not logged out)."""
    if principal.is_api_token:
        raise Forbidden(
            "API tokens cannot log out: revoke the token with DELETE /api/v1/tokens/{id}.",
            code="login_required",
        )
    return principal


NotApiTokenDep = Annotated[Principal, Depends(not_api_token)]


async def current_writer(principal: PrincipalDep) -> Principal:
    """A caller allowed to write, even on a GET: a read-only token may read results,
    not secrets that would let it forge what the owner's systems trust."""
    _require_write_scope(principal)
    return principal


WriterDep = Annotated[Principal, Depends(current_writer)]


async def current_admin(
    request: Request, response: Response, principal: PrincipalDep, limiter: LimiterDep
) -> Principal:
    """A logged-in admin, whatever AUTH_ENABLED says; admin writes are rate limited."""
    if principal.is_api_token:
        raise Forbidden(
            "API tokens cannot reach admin endpoints: sign in as an admin.",
            code="admin_required",
        )
    if principal.user_id is None or not principal.is_admin:
        raise Forbidden("This needs a logged-in admin.", code="admin_required")
    if request.method not in SAFE_METHODS:
        decision = await enforce(
            limiter, Scope.ADMIN, caller=principal.owner_key, ip=client_ip(request)
        )
        apply_rate_headers(request, response, decision)
    return principal


AdminDep = Annotated[Principal, Depends(current_admin)]


async def limit_submissions(
    request: Request, response: Response, principal: PrincipalDep, limiter: LimiterDep
) -> None:
    """submissions_per_hour for the caller, and times ip_multiplier for its address."""
    decision = await enforce(
        limiter, Scope.SUBMISSIONS, caller=principal.owner_key, ip=client_ip(request)
    )
    apply_rate_headers(request, response, decision)


def count_submissions(
    request: Request, response: Response, principal: Principal, limiter: RateLimiter, memos: int
) -> None:
    """Count `memos` submissions at once (a batch counts each of its memos)."""
    decision = limiter.enforce(
        Scope.SUBMISSIONS, caller=principal.owner_key, ip=client_ip(request), cost=memos
    )
    apply_rate_headers(request, response, decision)


async def limit_retries(
    request: Request, response: Response, principal: PrincipalDep, limiter: LimiterDep
) -> None:
    """retries_per_hour for the caller (and x ip_multiplier for its address).

    A retry re-runs a memo that was already counted as a submission, so it does
    not use a submission slot; it costs an LLM call, so it has a budget of its own.
    """
    decision = await enforce(
        limiter, Scope.RETRIES, caller=principal.owner_key, ip=client_ip(request)
    )
    apply_rate_headers(request, response, decision)


async def limit_chat_messages(
    request: Request, response: Response, principal: PrincipalDep, limiter: LimiterDep
) -> None:
    """chat_messages_per_hour for the caller, and times ip_multiplier for its address."""
    decision = await enforce(limiter, Scope.CHAT, caller=principal.owner_key, ip=client_ip(request))
    apply_rate_headers(request, response, decision)


async def require_json(request: Request) -> None:
    """415 for a body that is not JSON, before any parsing."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            "Send the request body as JSON with Content-Type: application/json.",
            details={"content_type": content_type or None},
        )


JsonBody = Depends(require_json)
SubmissionLimit = Depends(limit_submissions)
ChatMessageLimit = Depends(limit_chat_messages)
RetryLimit = Depends(limit_retries)
