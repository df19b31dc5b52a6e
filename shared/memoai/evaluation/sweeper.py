"""Find evaluations that no worker will finish on its own and publish them again.

The database is the source of truth. An evaluation needs publishing again when
- it was never published (the broker was down at submit time),
- a worker claimed it and its lease ran out (the worker died), or
- its message is gone: the broker holds fewer messages than the database has
  queued evaluations (a dead worker's prefetched messages), or it has waited
  far longer than any queue should take.
Publishing twice is harmless: the task claims the row atomically and skips
evaluations that are final or leased.

An evaluation that already used `backend.evaluation.max_attempts` claims is
not published again: each attempt may have cost a model call, and a memo that
kills its worker would otherwise do so for ever. It is failed with
`too_many_attempts` instead (the owner can still retry it deliberately).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import func, or_, select, update

from memoai.config import get_settings
from memoai.evaluation import events
from memoai.evaluation import repository as repo
from memoai.models import Evaluation, EvaluationStatus, utcnow
from memoai.platform import metrics
from memoai.platform.db import session_scope
from memoai.platform.queue import TaskName, broker_depth, publish

log = structlog.get_logger(__name__)
BATCH = 500
# A message published this recently may still be on its way to the broker list.
PUBLISH_GRACE_SECONDS = 10

Q = EvaluationStatus


def sweep() -> dict[str, Any]:
    settings = get_settings()
    q = settings.backend.queue
    max_attempts = settings.backend.evaluation.max_attempts
    with session_scope(write=False) as db:
        exhausted = repo.exhausted(db, max_attempts)
    if exhausted:  # the common case costs a read, not a write transaction
        with session_scope() as db:
            exhausted = repo.fail_exhausted(db, max_attempts, exhausted)
    for evaluation_id in exhausted:
        metrics.EVALUATIONS.labels("failed", settings.llm_provider).inc()
        events.final(evaluation_id)
    if exhausted:
        log.warning(
            "sweeper.failed_exhausted",
            count=len(exhausted),
            ids=exhausted[:20],
            error_code=repo.TOO_MANY_ATTEMPTS,
        )
    now = utcnow()
    queued = Evaluation.status == Q.QUEUED.value
    with session_scope(write=False) as db:
        urgent = db.execute(
            select(Evaluation.id, Evaluation.request_id)
            .where(
                or_(
                    queued
                    & Evaluation.enqueued_at.is_(None)
                    & (Evaluation.created_at < now - timedelta(seconds=q.sweep_unpublished_after)),
                    queued
                    & (Evaluation.enqueued_at < now - timedelta(seconds=q.sweep_queued_after)),
                    (Evaluation.status == Q.PROCESSING.value) & (Evaluation.lease_expires_at < now),
                ),
                Evaluation.attempts < max_attempts,
            )
            .order_by(Evaluation.created_at)
            .limit(BATCH)
        ).all()
        published_queued = (
            db.scalar(
                select(func.count()).where(
                    queued,
                    Evaluation.enqueued_at.is_not(None),
                    Evaluation.enqueued_at < now - timedelta(seconds=PUBLISH_GRACE_SECONDS),
                )
            )
            or 0
        )
        lost: list[Any] = []
        depth = broker_depth(settings) if published_queued else 0
        if depth is not None and published_queued > depth:
            # Oldest first: those are the ones whose messages a dead worker took.
            lost = list(
                db.execute(
                    select(Evaluation.id, Evaluation.request_id)
                    .where(
                        queued,
                        Evaluation.enqueued_at < now - timedelta(seconds=PUBLISH_GRACE_SECONDS),
                    )
                    .order_by(Evaluation.enqueued_at, Evaluation.created_at)
                    .limit(min(BATCH, published_queued - depth))
                ).all()
            )

    rows = {r.id: r for r in [*urgent, *lost]}
    republished: list[str] = []
    for row in rows.values():
        if publish(TaskName.EVALUATE, evaluation_id=row.id, request_id=row.request_id):
            republished.append(row.id)
        else:
            break  # broker down: try again on the next sweep
    if republished:
        with session_scope() as db:
            db.execute(
                update(Evaluation)
                .where(Evaluation.id.in_(republished))
                .values(enqueued_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        log.info("sweeper.republished", count=len(republished), ids=republished[:20])
    return {
        "found": len(rows),
        "republished": len(republished),
        "broker_depth": depth,
        "failed_exhausted": len(exhausted),
    }
