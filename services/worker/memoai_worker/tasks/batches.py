"""Message Batches tasks (bulk evaluation at half price)."""

from __future__ import annotations

from typing import Any

import structlog

from memoai.batches import provider
from memoai.platform.queue import TaskName
from memoai_worker.celery_app import app


@app.task(name=TaskName.BATCH_SUBMIT.value, acks_late=True)
def batch_submit(batch_id: str, request_id: str | None = None) -> str:
    """Send a batch's queued memos as one Message Batch (claimed, so safe twice)."""
    with structlog.contextvars.bound_contextvars(batch_id=batch_id, request_id=request_id):
        return provider.submit(batch_id)


@app.task(name=TaskName.BATCH_POLL.value, acks_late=True)
def batch_poll() -> dict[str, Any]:
    """Collect ended Message Batches."""
    return provider.poll()
