"""Find evaluations that no worker will finish on its own and publish them again.

The database is the source of truth: a message lost with a crashed worker, a
broker outage at submit time or an expired lease all end here. Publishing twice
is harmless because the task claims the row atomically and skips final ones.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update

from memoai.config import get_settings
from memoai.db import session_scope
from memoai.models import Evaluation, EvaluationStatus, utcnow
from memoai.queue import TaskName, publish

log = structlog.get_logger(__name__)
BATCH = 200


def sweep() -> dict[str, Any]:
    q = get_settings().backend.queue
    now = utcnow()
    with session_scope(write=False) as db:
        rows = db.execute(
            select(Evaluation.id, Evaluation.request_id, Evaluation.status)
            .where(
                or_(
                    # never published, or the publish failed
                    (Evaluation.status == EvaluationStatus.QUEUED.value)
                    & Evaluation.enqueued_at.is_(None)
                    & (Evaluation.created_at < now - timedelta(seconds=q.sweep_unpublished_after)),
                    # published long ago and still waiting: the message may be gone
                    (Evaluation.status == EvaluationStatus.QUEUED.value)
                    & (Evaluation.enqueued_at < now - timedelta(seconds=q.sweep_queued_after)),
                    # a worker claimed it and its lease ran out
                    (Evaluation.status == EvaluationStatus.PROCESSING.value)
                    & (Evaluation.lease_expires_at < now),
                )
            )
            .order_by(Evaluation.created_at)
            .limit(BATCH)
        ).all()
    republished: list[str] = []
    for row in rows:
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
    return {"found": len(rows), "republished": len(republished)}
