"""Periodic jobs run by beat."""

from __future__ import annotations

from typing import Any

from memoai.evaluation import sweeper
from memoai.queue import TaskName
from memoai_worker.celery_app import app


@app.task(name=TaskName.SWEEP.value, acks_late=True)
def sweep_stuck() -> dict[str, Any]:
    """Re-enqueue evaluations stuck in queued or processing (nothing is lost)."""
    return sweeper.sweep()
