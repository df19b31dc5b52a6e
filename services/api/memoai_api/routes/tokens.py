"""Personal API tokens: create (shown once), list, revoke. A real login is required."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from memoai.platform.db import session_scope
from memoai.tokens import service
from memoai_api.deps import ClientDep, JsonBody, LoginDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/tokens", tags=["tokens"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorEnvelope,
        "description": "Not logged in (anonymous sessions have no tokens)",
    },
    403: {"model": ErrorEnvelope, "description": "Called with an API token, or no X-CSRF-Token"},
}


@router.post(
    "",
    status_code=201,
    response_model=Envelope[service.TokenCreated],
    dependencies=[JsonBody],
    responses={
        **ERRORS,
        409: {"model": ErrorEnvelope, "description": "Too many active tokens"},
        422: {"model": ErrorEnvelope, "description": "Bad name, scope or expiry"},
    },
)
def create_token(
    body: service.TokenCreate, user: LoginDep, client: ClientDep
) -> Envelope[service.TokenCreated]:
    """Create a token; the secret is in this response only (it is stored hashed)."""
    with session_scope() as db:
        return ok(service.create(db, user, body, ip=client.ip))


@router.get("", response_model=Envelope[service.TokenList], responses=ERRORS)
def list_tokens(user: LoginDep) -> Envelope[service.TokenList]:
    """Your tokens, newest first: prefix, scopes, expiry and last use, never the secret."""
    with session_scope(write=False) as db:
        return ok(service.list_tokens(db, user))


@router.delete(
    "/{token_id}",
    response_model=Envelope[service.TokenPublic],
    responses={**ERRORS, 404: {"model": ErrorEnvelope, "description": "Not found, or not yours"}},
)
def revoke_token(
    token_id: Annotated[str, Path(max_length=64)], user: LoginDep, client: ClientDep
) -> Envelope[service.TokenPublic]:
    """Revoke a token: it stops working at once."""
    with session_scope() as db:
        return ok(service.revoke(db, user, token_id, ip=client.ip))
