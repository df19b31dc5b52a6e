"""Deliver webhooks (worker side): schedule on completion, send signed, retry.

A delivery row is the source of truth. The first attempt is queued when the
evaluation reaches a final state; failures are retried by beat on a backoff
schedule for up to `max_age_hours`, then marked failed. A claim
(pending → sending, with a deadline) keeps two workers from sending the same
attempt; a worker that dies mid-attempt leaves a row that becomes due again.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import or_, select, update

from memoai.cohorts import feedback
from memoai.config import Settings, get_settings
from memoai.evaluation import events as evaluation_events
from memoai.evaluation.service import to_public
from memoai.models import (
    Evaluation,
    Submission,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from memoai.platform.db import session_scope
from memoai.platform.outbound import allow_list, safe_client
from memoai.platform.queue import TaskName, enqueue_after_commit, publish
from memoai.webhooks import cohort_events
from memoai.webhooks.service import owner_secret
from memoai.webhooks.signing import sign

log = structlog.get_logger(__name__)


def _owner_key(evaluation: Evaluation) -> str:
    return (
        f"user:{evaluation.user_id}" if evaluation.user_id else f"session:{evaluation.session_id}"
    )


def subscribe() -> None:
    """Deliver webhooks for every evaluation that reaches a final state in this process,
    and for the cohort events (review.released, assignment.due) recorded in it."""
    evaluation_events.on_final(schedule)
    cohort_events.subscribe()


def schedule(evaluation_id: str) -> int:
    """Create the deliveries an evaluation's final state calls for; returns how many."""
    with session_scope(write=False) as db:
        row = db.execute(
            select(
                Evaluation.status,
                Evaluation.callback_url,
                Evaluation.user_id,
                Evaluation.session_id,
            ).where(Evaluation.id == evaluation_id)
        ).one()
        event = f"evaluation.{row.status}"
        owner = (
            WebhookEndpoint.user_id == row.user_id
            if row.user_id
            else WebhookEndpoint.session_id == row.session_id
        )
        endpoints = db.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.events).where(
                owner, WebhookEndpoint.active.is_(True)
            )
        ).all()
    targets: list[tuple[str | None, str]] = [(e.id, e.url) for e in endpoints if event in e.events]
    if row.callback_url:
        targets.append((None, row.callback_url))
    if not targets:
        return 0  # the common case costs one read, no write
    with session_scope() as db:
        for endpoint_id, url in targets:
            delivery = WebhookDelivery(
                evaluation_id=evaluation_id, endpoint_id=endpoint_id, url=url, event=event
            )
            db.add(delivery)
            db.flush()
            enqueue_after_commit(db, TaskName.DELIVER_WEBHOOK, delivery_id=delivery.id)
    return len(targets)


def attempt(delivery_id: str) -> str:
    settings = get_settings()
    cfg = settings.security.webhooks
    now = utcnow()
    with session_scope() as db:
        claimed = db.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == "pending",
                or_(
                    WebhookDelivery.next_attempt_at.is_(None),
                    WebhookDelivery.next_attempt_at <= now,
                ),
            )
            .values(status="sending", next_attempt_at=now + timedelta(seconds=cfg.timeout + 30))
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        return "skipped"
    with session_scope(write=False) as db:
        delivery = db.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        endpoint = db.get(WebhookEndpoint, delivery.endpoint_id) if delivery.endpoint_id else None
        outcome: tuple[str, int | None, str | None]
        if delivery.payload is not None:
            # review.released, assignment.due: data frozen when the event happened,
            # sent only to registered endpoints.
            if endpoint is None:
                outcome = ("failed", None, "endpoint deleted")
                return _record(settings, delivery_id, outcome)
            secret, data = endpoint.secret, delivery.payload
        else:
            evaluation = (
                db.get(Evaluation, delivery.evaluation_id) if delivery.evaluation_id else None
            )
            if evaluation is None:
                outcome = ("failed", None, "evaluation deleted")
                return _record(settings, delivery_id, outcome)
            submission = db.get(Submission, evaluation.submission_id)
            secret = endpoint.secret if endpoint else owner_secret(settings, _owner_key(evaluation))
            # What the writer may see: an assignment's feedback may await the coach.
            public = feedback.overlay(db, to_public(evaluation, submission))  # type: ignore[arg-type]
            data = {"evaluation": public.model_dump(mode="json")}
        payload = {
            "id": delivery.id,
            "event": delivery.event,
            "created_at": delivery.created_at.isoformat(),
            "attempt": delivery.attempts + 1,
            "data": data,
        }
        url, event = delivery.url, delivery.event
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "MemoAI-Webhooks/1",
        "X-MemoAI-Event": event,
        "X-MemoAI-Delivery": delivery_id,
        "X-MemoAI-Timestamp": str(timestamp),
        "X-MemoAI-Signature": sign(secret, timestamp, body),
    }
    try:
        with safe_client(allow_list(settings), cfg.timeout) as client:
            response = client.post(url, content=body, headers=headers)
        ok = 200 <= response.status_code < 300
        outcome = (
            "delivered" if ok else "retry",
            response.status_code,
            None if ok else f"HTTP {response.status_code}: {response.text[:200]}",
        )
    except httpx.HTTPError as exc:
        outcome = ("retry", None, f"{type(exc).__name__}: {exc}"[:300])
    return _record(settings, delivery_id, outcome)


def _record(
    settings: Settings, delivery_id: str, outcome: tuple[str, int | None, str | None]
) -> str:
    cfg = settings.security.webhooks
    result, status_code, error = outcome
    now = utcnow()
    with session_scope() as db:
        delivery = db.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        if result == "delivered":
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                "delivered",
                now,
                None,
            )
        else:
            schedule_ = cfg.backoff_seconds
            wait = schedule_[min(delivery.attempts - 1, len(schedule_) - 1)]
            next_at = now + timedelta(seconds=wait)
            if result == "failed" or next_at > delivery.created_at + timedelta(
                hours=cfg.max_age_hours
            ):
                delivery.status, delivery.next_attempt_at = "failed", None
            else:
                delivery.status, delivery.next_attempt_at = "pending", next_at
        final = delivery.status
    log.info(
        "webhook.attempt",
        delivery_id=delivery_id,
        outcome=final,
        status_code=status_code,
        error=error,
    )
    return final


def retry_due(limit: int = 100) -> dict[str, Any]:
    """Beat: queue every delivery whose next attempt is due (and stalled sends)."""
    now = utcnow()
    with session_scope() as db:
        # A send whose worker died is due again once its claim deadline passed.
        db.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "sending", WebhookDelivery.next_attempt_at <= now)
            .values(status="pending")
            .execution_options(synchronize_session=False)
        )
    with session_scope(write=False) as db:
        due = db.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        ).all()
    queued = sum(publish(TaskName.DELIVER_WEBHOOK, delivery_id=d) for d in due)
    return {"due": len(due), "queued": queued}
