"""Login, logout, token verification and refresh."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from memoai.auth import service as auth
from memoai.auth.schemas import LoginRequest, LoginResult, LogoutResult, VerifyResult
from memoai.config import Settings
from memoai.platform import metrics
from memoai.platform.db import session_scope
from memoai.platform.ratelimit import Scope, limited
from memoai_api.deps import (
    ClientDep,
    JsonBody,
    LimiterDep,
    LoginDep,
    NotApiTokenDep,
    PrincipalDep,
    SettingsDep,
    clear_auth_cookies,
    set_access_cookie,
    set_csrf_cookie,
)
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "Missing, invalid, expired or revoked token"},
    403: {"model": ErrorEnvelope, "description": "Cookie request without a valid X-CSRF-Token"},
}


def _login_result(
    response: Response, settings: Settings, success: auth.LoginSuccess
) -> LoginResult:
    set_access_cookie(response, settings, success.token)
    csrf = set_csrf_cookie(response, settings, success.session_id)
    return LoginResult(
        user=success.user,
        access_token=success.token.token,
        expires_at=success.token.expires_at,
        csrf_token=csrf,
    )


@router.post(
    "/login",
    response_model=Envelope[LoginResult],
    dependencies=[JsonBody],
    responses={
        401: {"model": ErrorEnvelope, "description": "Invalid username or password"},
        415: {"model": ErrorEnvelope, "description": "Body is not JSON"},
        429: {"model": ErrorEnvelope, "description": "Account locked or too many failures"},
    },
)
def login(
    body: LoginRequest,
    response: Response,
    settings: SettingsDep,
    client: ClientDep,
    limiter: LimiterDep,
) -> Envelope[LoginResult]:
    """Log in: returns the access token and sets it as an httpOnly cookie plus a CSRF cookie."""
    ip_key = client.ip or "unknown"
    # Failed logins per address (login_attempts_per_hour x ip_multiplier), so one
    # address cannot walk through many accounts below each one's lockout. The
    # slot is taken before the password check and returned on success, so
    # parallel guesses on any number of API processes cannot exceed the limit.
    slot = limiter.reserve(Scope.LOGIN, ip_key, per_ip=True)
    if not slot.allowed:
        metrics.LOGIN_FAILURES.labels("rate_limited").inc()
        raise limited(slot.decision, "Too many failed logins from this address; try again later.")
    try:
        outcome = auth.login(settings, body.username, body.password, client)
    except BaseException:
        slot.release()  # an error is not a failed guess
        raise
    if outcome.success is not None:
        slot.release()
    return ok(_login_result(response, settings, outcome.unwrap()))


@router.post("/logout", response_model=Envelope[LogoutResult], responses=UNAUTHORIZED)
def logout(
    principal: NotApiTokenDep, response: Response, settings: SettingsDep, client: ClientDep
) -> Envelope[LogoutResult]:
    """End the session server-side: its token stops working everywhere."""
    with session_scope() as db:
        auth.logout(db, principal, client)
    clear_auth_cookies(response, settings)
    return ok(LogoutResult())


@router.get("/verify", response_model=Envelope[VerifyResult], responses=UNAUTHORIZED)
def verify(principal: PrincipalDep) -> Envelope[VerifyResult]:
    """Who the presented credential belongs to (401 if it is not valid)."""
    with session_scope(write=False) as db:
        return ok(auth.verify(db, principal))


@router.post("/refresh", response_model=Envelope[LoginResult], responses=UNAUTHORIZED)
def refresh(
    principal: LoginDep, response: Response, settings: SettingsDep, client: ClientDep
) -> Envelope[LoginResult]:
    """Swap the access token for a new one; the old token stops working at once."""
    with session_scope() as db:
        success = auth.refresh(db, settings, principal, client)
    return ok(_login_result(response, settings, success))
