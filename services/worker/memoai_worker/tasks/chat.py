"""Chat reply task."""

from __future__ import annotations

from typing import Any

import structlog

from memoai.coaching import chat_pipeline
from memoai.platform.queue import TaskName
from memoai_worker.celery_app import app


@app.task(name=TaskName.CHAT_REPLY.value, bind=True, acks_late=True)
def chat_reply(self: Any, message_id: str, request_id: str | None = None) -> str:
    """Write the coach's reply to one message. A reply already written is skipped."""
    with structlog.contextvars.bound_contextvars(
        request_id=request_id, chat_message_id=message_id, task_id=self.request.id
    ):
        return chat_pipeline.process_reply(message_id)
