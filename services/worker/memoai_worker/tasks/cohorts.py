"""Coaches and cohorts: the assignment.due announcement."""

from __future__ import annotations

from typing import Any

from memoai.cohorts import due
from memoai.platform.queue import TaskName
from memoai_worker.celery_app import app


@app.task(name=TaskName.ASSIGNMENTS_DUE.value, acks_late=True)
def assignments_due() -> dict[str, Any]:
    """Announce every assignment whose due date passed (each exactly once)."""
    return due.announce_due()
