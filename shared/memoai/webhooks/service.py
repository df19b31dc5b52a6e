"""Webhook endpoints and deliveries (API side) and the owner's signing secret."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session as DbSession

from memoai.config import Settings
from memoai.models import Evaluation, Session, User, WebhookDelivery, WebhookEndpoint
from memoai.platform.errors import Conflict, NotFound
from memoai.platform.identity import Principal
from memoai.platform.outbound import validate_url

Event = Literal["evaluation.completed", "evaluation.failed", "review.released", "assignment.due"]
EVENTS: tuple[Event, ...] = (
    "evaluation.completed",
    "evaluation.failed",
    "review.released",  # a coach released the review of your submission (or yours, coach)
    "assignment.due",  # an assignment of a cohort you coach reached its due date
)


class EndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"url": "https://hooks.example.com/memoai"}]},
    )
    url: Annotated[StrictStr, Field(max_length=2048)]
    events: Annotated[list[Event], Field(max_length=len(EVENTS))] = list(EVENTS)


class EndpointPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class EndpointCreated(EndpointPublic):
    secret: str = Field(description="Shown once: verify X-MemoAI-Signature with it")


class DeliveryPublic(BaseModel):
    id: str
    evaluation_id: str | None
    subject: str | None = Field(
        default=None, description='What a cohort event is about, e.g. "assignment:<id>"'
    )
    endpoint_id: str | None
    url: str
    event: str
    status: Literal["pending", "sending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class SigningSecret(BaseModel):
    secret: str = Field(description="Signs deliveries to callback_url of your submits")


def master_secret(settings: Settings) -> str:
    configured = settings.security.webhooks.signing_secret
    if configured:
        return configured
    path: Path = settings.runtime.data_dir / "webhook-signing.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: when processes race, one creates and all read the same key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        except FileExistsError:
            pass
    return path.read_text().strip()


def owner_secret(settings: Settings, owner_key: str) -> str:
    """Each owner's callback secret, derived so that none needs storing."""
    digest = hmac.new(master_secret(settings).encode(), owner_key.encode(), hashlib.sha256)
    return f"whsec_{digest.hexdigest()}"


def create_endpoint(
    db: DbSession, settings: Settings, principal: Principal, body: EndpointCreate
) -> EndpointCreated:
    validate_url(settings, body.url, "url")
    limit = settings.security.webhooks.max_endpoints_per_owner
    # Lock the owner's row first, so two concurrent creates cannot both pass the count.
    if principal.user_id:
        db.execute(select(User.id).where(User.id == principal.user_id).with_for_update())
    else:
        db.execute(select(Session.id).where(Session.id == principal.session_id).with_for_update())
    owned = db.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(_owned_endpoints(principal))  # type: ignore[arg-type]
    )
    if (owned or 0) >= limit:
        raise Conflict(
            f"You already have {limit} webhook endpoints, the most allowed; "
            "delete one before adding another.",
            code="too_many_endpoints",
            field="url",
            details={"max_endpoints": limit},
        )
    secret = f"whsec_{secrets.token_hex(32)}"
    row = WebhookEndpoint(
        user_id=principal.user_id,
        session_id=None if principal.user_id else principal.session_id,
        url=body.url,
        secret=secret,
        events=sorted(set(body.events)),
    )
    db.add(row)
    db.flush()
    return EndpointCreated(
        id=row.id,
        url=row.url,
        events=row.events,
        active=row.active,
        created_at=row.created_at,
        secret=secret,
    )


def _owned_endpoints(principal: Principal) -> object:
    if principal.user_id:
        return WebhookEndpoint.user_id == principal.user_id
    return WebhookEndpoint.session_id == principal.session_id


def list_endpoints(db: DbSession, principal: Principal) -> list[EndpointPublic]:
    rows = db.scalars(
        select(WebhookEndpoint)
        .where(_owned_endpoints(principal))  # type: ignore[arg-type]
        .order_by(WebhookEndpoint.created_at)
    ).all()
    return [
        EndpointPublic(
            id=r.id, url=r.url, events=r.events, active=r.active, created_at=r.created_at
        )
        for r in rows
    ]


def delete_endpoint(db: DbSession, principal: Principal, endpoint_id: str) -> None:
    row = db.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id,
            _owned_endpoints(principal),  # type: ignore[arg-type]
        )
    ).first()
    if row is None:
        raise NotFound("Webhook endpoint not found.", field="endpoint_id")
    db.delete(row)


def deliveries(
    db: DbSession, principal: Principal, evaluation_id: str | None, limit: int
) -> list[DeliveryPublic]:
    # Yours: sent to your endpoints, or to the callback_url of your own evaluation.
    # A delivery to someone else's endpoint about your evaluation (the coach's
    # review.released) is theirs, not yours.
    query = (
        select(WebhookDelivery)
        .outerjoin(Evaluation, Evaluation.id == WebhookDelivery.evaluation_id)
        .outerjoin(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            or_(
                _owned_endpoints(principal),  # type: ignore[arg-type]
                WebhookDelivery.endpoint_id.is_(None)
                & WebhookDelivery.subject.is_(None)
                & principal.owns(Evaluation),
            )
        )
        .order_by(WebhookDelivery.created_at.desc())
        .limit(limit)
    )
    if evaluation_id:
        query = query.where(WebhookDelivery.evaluation_id == evaluation_id)
    return [
        DeliveryPublic(
            id=d.id,
            evaluation_id=d.evaluation_id,
            subject=d.subject,
            endpoint_id=d.endpoint_id,
            url=d.url,
            event=d.event,
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            next_attempt_at=d.next_attempt_at,
            delivered_at=d.delivered_at,
            created_at=d.created_at,
        )
        for d in db.scalars(query).all()
    ]
