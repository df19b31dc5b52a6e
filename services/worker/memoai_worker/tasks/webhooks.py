"""Webhook delivery tasks."""

from __future__ import annotations

from typing import Any

import structlog

from memoai.platform.queue import TaskName
from memoai.webhooks import delivery
from memoai_worker.celery_app import app


@app.task(name=TaskName.DELIVER_WEBHOOK.value, acks_late=True)
def deliver_webhook(delivery_id: str) -> str:
    """One signed attempt; claimed first, so a duplicate message sends nothing."""
    with structlog.contextvars.bound_contextvars(webhook_delivery_id=delivery_id):
        return delivery.attempt(delivery_id)


@app.task(name=TaskName.WEBHOOKS_DUE.value, acks_late=True)
def webhooks_due() -> dict[str, Any]:
    """Queue the retries that are due."""
    return delivery.retry_due()
