"""Evaluation tasks: thin adapters that take ids and call the pipeline."""

from __future__ import annotations

from typing import Any

import structlog

from memoai.evaluation import pipeline
from memoai.platform.queue import TaskName
from memoai_worker.celery_app import app


@app.task(name=TaskName.EVALUATE.value, bind=True, acks_late=True)
def evaluate(self: Any, evaluation_id: str, request_id: str | None = None) -> str:
    """Evaluate one memo. Safe to run twice: a finished evaluation is skipped."""
    with structlog.contextvars.bound_contextvars(
        request_id=request_id, evaluation_id=evaluation_id, task_id=self.request.id
    ):
        return pipeline.process(evaluation_id)
