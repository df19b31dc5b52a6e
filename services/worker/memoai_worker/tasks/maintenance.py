"""Periodic jobs run by beat."""

from __future__ import annotations

from typing import Any

import structlog

from memoai.config import get_settings
from memoai.db import session_scope
from memoai.evaluation import sweeper
from memoai.queue import TaskName
from memoai.sessions import service as sessions
from memoai_worker.celery_app import app

log = structlog.get_logger(__name__)


@app.task(name=TaskName.SWEEP.value, acks_late=True)
def sweep_stuck() -> dict[str, Any]:
    """Re-enqueue evaluations stuck in queued or processing (nothing is lost)."""
    return sweeper.sweep()


@app.task(name=TaskName.CLEANUP.value, acks_late=True)
def cleanup() -> dict[str, Any]:
    """Delete sessions that ended longer ago than the retention (idempotent)."""
    retention = get_settings().authentication.session.retention_days
    with session_scope() as db:
        deleted = sessions.cleanup_ended(db, retention)
    if deleted:
        log.info("sessions.cleaned_up", deleted=deleted, retention_days=retention)
    return {"sessions_deleted": deleted}
