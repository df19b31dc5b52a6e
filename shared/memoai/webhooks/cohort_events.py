"""Deliveries for the cohort events: review.released and assignment.due.

Scheduled inside the transaction that records the event (see
`memoai.cohorts.events`), so a release or a due date is announced exactly
once, with the data frozen at that moment on the delivery row. Sent only to
registered endpoints subscribed to the event: review.released to the writer's
and the releasing coach's, assignment.due to the cohort's coaches'.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import events
from memoai.models import WebhookDelivery, WebhookEndpoint
from memoai.platform.queue import TaskName, enqueue_after_commit


def subscribe() -> None:
    events.on_review_released(on_review_released)
    events.on_assignment_due(on_assignment_due)


def _schedule(
    db: DbSession,
    owners: Iterable[str | None],
    event: str,
    subject: str,
    payload: dict[str, Any],
    evaluation_id: str | None = None,
) -> int:
    ids = sorted({o for o in owners if o})
    if not ids:
        return 0
    endpoints = db.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.events).where(
            WebhookEndpoint.user_id.in_(ids), WebhookEndpoint.active.is_(True)
        )
    ).all()
    count = 0
    for endpoint in endpoints:
        if event not in endpoint.events:
            continue
        delivery = WebhookDelivery(
            evaluation_id=evaluation_id,
            endpoint_id=endpoint.id,
            url=endpoint.url,
            event=event,
            subject=subject,
            payload=payload,
        )
        db.add(delivery)
        db.flush()
        enqueue_after_commit(db, TaskName.DELIVER_WEBHOOK, delivery_id=delivery.id)
        count += 1
    return count


def on_review_released(db: DbSession, event: events.ReviewReleased) -> int:
    return _schedule(
        db,
        [event.writer_id, event.released_by],
        events.REVIEW_RELEASED,
        f"evaluation:{event.evaluation_id}",
        event.payload,
        evaluation_id=event.evaluation_id,
    )


def on_assignment_due(db: DbSession, event: events.AssignmentDue) -> int:
    return _schedule(
        db,
        event.coach_ids,
        events.ASSIGNMENT_DUE,
        f"assignment:{event.assignment_id}",
        event.payload,
    )
