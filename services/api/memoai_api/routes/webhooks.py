"""Webhook endpoints, the callback signing secret and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from memoai.platform.db import session_scope
from memoai.webhooks import service
from memoai_api.deps import JsonBody, PrincipalDep, SettingsDep, WriterDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/webhooks", tags=["webhooks"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "No valid session or token"},
    404: {"model": ErrorEnvelope, "description": "Not found, or not yours"},
}


@router.post(
    "",
    status_code=201,
    response_model=Envelope[service.EndpointCreated],
    dependencies=[JsonBody],
    responses={
        **ERRORS,
        409: {
            "model": ErrorEnvelope,
            "description": "Already at security.webhooks.max_endpoints_per_owner endpoints",
        },
        422: {"model": ErrorEnvelope, "description": "Refused URL"},
    },
)
def create_endpoint(
    body: service.EndpointCreate, principal: PrincipalDep, settings: SettingsDep
) -> Envelope[service.EndpointCreated]:
    """Register a URL for evaluation events; its signing secret is shown only here."""
    with session_scope() as db:
        return ok(service.create_endpoint(db, settings, principal, body))


@router.get("", response_model=Envelope[list[service.EndpointPublic]], responses=ERRORS)
def list_endpoints(principal: PrincipalDep) -> Envelope[list[service.EndpointPublic]]:
    """Your webhook endpoints (secrets are never shown again)."""
    with session_scope(write=False) as db:
        return ok(service.list_endpoints(db, principal))


@router.delete("/{endpoint_id}", status_code=204, response_class=Response, responses=ERRORS)
def delete_endpoint(
    endpoint_id: Annotated[str, Path(max_length=64)], principal: PrincipalDep
) -> Response:
    """Stop sending events to this endpoint."""
    with session_scope() as db:
        service.delete_endpoint(db, principal, endpoint_id)
    return Response(status_code=204)


@router.get("/secret", response_model=Envelope[service.SigningSecret], responses=ERRORS)
def signing_secret(principal: WriterDep, settings: SettingsDep) -> Envelope[service.SigningSecret]:
    """The secret that signs your callback_url deliveries (not for read-only tokens)."""
    return ok(service.SigningSecret(secret=service.owner_secret(settings, principal.owner_key)))


@router.get("/deliveries", response_model=Envelope[list[service.DeliveryPublic]], responses=ERRORS)
def deliveries(
    principal: PrincipalDep,
    evaluation_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Envelope[list[service.DeliveryPublic]]:
    """Delivery log: status, attempts and the last error of each webhook."""
    with session_scope(write=False) as db:
        return ok(service.deliveries(db, principal, evaluation_id, limit))
