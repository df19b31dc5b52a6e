"""Deliver webhooks (worker side): schedule on completion, send signed, retry.

A delivery row is the source of truth. The first attempt is queued when the
evaluation reaches a final state; failures are retried by beat on a backoff
schedule for up to `max_age_hours`, then marked failed. A claim
(pending → sending, with a deadline) keeps two workers from sending the same
attempt; a worker that dies mid-attempt leaves a row that becomes due again.

A receiver is untrusted: each attempt ends within `timeout` seconds in total,
reads at most `max_response_bytes` of the answer, and an endpoint gets at most
`max_deliveries_per_minute` attempts (the excess is deferred, not dropped).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import structlog
from sqlalchemy import Table, and_, bindparam, or_, select, update

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
from memoai.platform.db import read_connection, session_scope
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


_EVAL = cast(Table, Evaluation.__table__)
_ENDPOINT = cast(Table, WebhookEndpoint.__table__)
# Who hears of one evaluation's final state, in one prebuilt read (this runs
# after every evaluation, and nearly always finds no one): the evaluation's
# status and callback URL, with each active endpoint of its owner (a user's
# endpoints cover all their sessions), or one row with no endpoint.
_TARGETS = (
    select(
        _EVAL.c.status,
        _EVAL.c.callback_url,
        _ENDPOINT.c.id.label("endpoint_id"),
        _ENDPOINT.c.url,
        _ENDPOINT.c.events,
    )
    .select_from(
        _EVAL.outerjoin(
            _ENDPOINT,
            and_(
                _ENDPOINT.c.active.is_(True),
                or_(
                    and_(_EVAL.c.user_id.is_not(None), _ENDPOINT.c.user_id == _EVAL.c.user_id),
                    and_(_EVAL.c.user_id.is_(None), _ENDPOINT.c.session_id == _EVAL.c.session_id),
                ),
            ),
        )
    )
    .where(_EVAL.c.id == bindparam("evaluation_id"))
)


def schedule(evaluation_id: str) -> int:
    """Create the deliveries an evaluation's final state calls for; returns how many."""
    with read_connection() as conn:
        rows = conn.execute(_TARGETS, {"evaluation_id": evaluation_id}).all()
    if not rows:
        return 0  # deleted in the meantime: no one to tell
    event = f"evaluation.{rows[0].status}"
    targets: list[tuple[str | None, str]] = [
        (r.endpoint_id, r.url) for r in rows if r.endpoint_id is not None and event in r.events
    ]
    if rows[0].callback_url:
        targets.append((None, rows[0].callback_url))
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


RATE_WINDOW_SECONDS = 60.0


def _claim(settings: Settings, delivery_id: str) -> str:
    """pending → sending ("claimed"), or "deferred" when the endpoint's minute is
    full, or "skipped" (not due, or another worker has it).

    The endpoint's row is locked while its recent attempts are counted, so
    workers sending to one endpoint at once cannot pass its rate together
    (SQLite serialises every write transaction anyway).
    """
    cfg = settings.security.webhooks
    now = utcnow()
    due = (WebhookDelivery.id == delivery_id) & (WebhookDelivery.status == "pending")
    due = due & or_(
        WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now
    )
    with session_scope() as db:
        endpoint_id = db.scalar(select(WebhookDelivery.endpoint_id).where(due))
        endpoint = None
        window: list[float] = []
        if endpoint_id is not None:
            endpoint = db.scalars(
                select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).with_for_update()
            ).first()
        if endpoint is not None:
            stamp = time.time()
            window = sorted(
                t for t in endpoint.recent_attempts or [] if t > stamp - RATE_WINDOW_SECONDS
            )
            if len(window) >= cfg.max_deliveries_per_minute:
                # Deferred, not dropped: due again when enough attempts have left
                # the window. Not an attempt, so it costs no retry budget.
                frees = window[len(window) - cfg.max_deliveries_per_minute]
                later = datetime.fromtimestamp(frees + RATE_WINDOW_SECONDS + 0.5, UTC)
                db.execute(
                    update(WebhookDelivery)
                    .where(due)
                    .values(next_attempt_at=later)
                    .execution_options(synchronize_session=False)
                )
                log.info("webhook.deferred", delivery_id=delivery_id, until=later.isoformat())
                return "deferred"
        claimed = db.execute(
            update(WebhookDelivery)
            .where(due)
            .values(status="sending", next_attempt_at=now + timedelta(seconds=cfg.timeout + 30))
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if claimed != 1:
            return "skipped"
        if endpoint is not None:
            endpoint.recent_attempts = [*window, round(time.time(), 3)]
    return "claimed"


def attempt(delivery_id: str) -> str:
    settings = get_settings()
    claim = _claim(settings, delivery_id)
    if claim != "claimed":
        return claim
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
        # The answer is read raw and only in part: a compressed one would be noise.
        "Accept-Encoding": "identity",
        "X-MemoAI-Event": event,
        "X-MemoAI-Delivery": delivery_id,
        "X-MemoAI-Timestamp": str(timestamp),
        "X-MemoAI-Signature": sign(secret, timestamp, body),
    }
    return _record(settings, delivery_id, _send(settings, url, body, headers))


def _send(
    settings: Settings, url: str, body: bytes, headers: dict[str, str]
) -> tuple[str, int | None, str | None]:
    """One POST, bounded in time and memory whatever the receiver does.

    The whole exchange must end within `timeout` seconds (a receiver dripping
    bytes cannot hold the worker), and of the answer at most
    `max_response_bytes` are read — only to explain a failure; the rest is
    never downloaded (the connection is closed).
    """
    cfg = settings.security.webhooks
    try:
        with (
            safe_client(allow_list(settings), cfg.timeout, total_timeout=cfg.timeout) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            code = response.status_code
            if 200 <= code < 300:
                return "delivered", code, None  # the answer's body is not needed
            try:
                text, truncated = _read_some(response, cfg.max_response_bytes)
            except httpx.TimeoutException:
                return "retry", code, f"HTTP {code} (its body did not arrive in {cfg.timeout:g} s)"
            note = f" [answer cut at {cfg.max_response_bytes} bytes]" if truncated else ""
            return "retry", code, f"HTTP {code}: {text[:200]}{note}"
    except httpx.HTTPError as exc:
        return "retry", None, f"{type(exc).__name__}: {exc}"[:300]


def _read_some(response: httpx.Response, limit: int) -> tuple[str, bool]:
    """The first `limit` bytes of the answer, and whether there was more."""
    data = b""
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= limit:
            return data[:limit].decode("utf-8", "replace"), True
    return data.decode("utf-8", "replace"), False


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


# A first attempt not taken this long after it was created lost its message
# (the broker was down when the evaluation finished): beat publishes it again.
UNPUBLISHED_AFTER = timedelta(seconds=60)


def retry_due(limit: int = 100) -> dict[str, Any]:
    """Beat: queue every delivery whose next attempt is due (retries, deferrals,
    stalled sends and first attempts whose message was lost)."""
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
            .where(
                WebhookDelivery.status == "pending",
                or_(
                    WebhookDelivery.next_attempt_at <= now,
                    WebhookDelivery.next_attempt_at.is_(None)
                    & (WebhookDelivery.created_at < now - UNPUBLISHED_AFTER),
                ),
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
        ).all()
    queued = sum(publish(TaskName.DELIVER_WEBHOOK, delivery_id=d) for d in due)
    return {"due": len(due), "queued": queued}
