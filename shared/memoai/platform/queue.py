"""Celery configuration and enqueue-by-name, shared by the API (producer) and the worker.

Jobs are published only after the transaction that created their rows has
committed (`enqueue_after_commit`), and messages carry ids only.
"""

from __future__ import annotations

import threading
import time
from enum import StrEnum
from typing import Any

import structlog
from celery import Celery
from sqlalchemy import event, update
from sqlalchemy.orm import Session as DbSession

from memoai.config import Settings, get_settings
from memoai.platform import broker

log = structlog.get_logger(__name__)


class TaskName(StrEnum):
    EVALUATE = "memoai.evaluate"
    SWEEP = "memoai.sweep_stuck"
    CHAT_REPLY = "memoai.chat_reply"
    CLEANUP = "memoai.cleanup"
    BACKUP = "memoai.backup"
    DELIVER_WEBHOOK = "memoai.deliver_webhook"
    WEBHOOKS_DUE = "memoai.webhooks_due"
    BATCH_SUBMIT = "memoai.batch_submit"
    BATCH_POLL = "memoai.batch_poll"
    PING = "memoai.ping"  # the admin self-test's broker round trip
    ASSIGNMENTS_DUE = "memoai.assignments_due"  # beat: announce passed due dates


def celery_config(settings: Settings) -> dict[str, Any]:
    q = settings.backend.queue
    transport_options: dict[str, Any]
    if settings.uses_embedded_broker:
        broker.register()
        broker_url = broker.url_for(settings.broker_url)
        transport_options = {"polling_interval": q.embedded_polling_interval}
    else:
        broker_url = settings.broker_url
        transport_options = {
            # A message not acked within this window is redelivered; it must exceed
            # the task hard limit (checked by the backend.yaml schema).
            "visibility_timeout": q.visibility_timeout,
            "global_keyprefix": f"{q.key_prefix}:",
            "socket_connect_timeout": q.publish_timeout,
            "socket_timeout": max(q.publish_timeout, 5.0),
            "retry_on_timeout": True,
        }
    return {
        "broker_url": broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_timeout": q.publish_timeout,
        "broker_connection_retry_on_startup": True,
        "broker_pool_limit": 16,
        "task_default_queue": q.queue_name,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        # Long LLM calls: take one message at a time, ack only after the work,
        # and give the message back if the worker process dies mid-task.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": q.task_soft_time_limit,
        "task_time_limit": q.task_time_limit,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "enable_utc": True,
        "timezone": "UTC",
        "worker_cancel_long_running_tasks_on_connection_loss": False,
    }


def create_celery(settings: Settings, name: str = "memoai") -> Celery:
    app = Celery(name)
    app.conf.update(celery_config(settings))
    return app


_producer: Celery | None = None
_producer_lock = threading.Lock()


def producer() -> Celery:
    """A Celery app used only to publish (the API never imports task code)."""
    global _producer
    if _producer is None:
        with _producer_lock:
            if _producer is None:
                _producer = create_celery(get_settings(), "memoai-producer")
    return _producer


def reset_producer() -> None:
    global _producer
    with _producer_lock:
        _producer = None


# After a failed publish, skip publishing for a few seconds: with the broker
# down every submit would otherwise wait for its own connection timeout. The
# evaluations stay queued in the database and the sweeper publishes them.
BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def publish(name: TaskName, **kwargs: Any) -> bool:
    """Send a task by name; False (and a log line) when the broker is unreachable."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return False
    try:
        producer().send_task(
            name.value,
            kwargs=kwargs,
            # One quick retry on a fresh connection covers a pooled connection
            # that died with a broker restart.
            retry=True,
            retry_policy={
                "max_retries": 1,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.2,
            },
        )
    except Exception as exc:  # noqa: BLE001 - any broker failure means "not published"
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        log.warning(
            "queue.publish_failed", task=name.value, error=f"{type(exc).__name__}: {exc}", **kwargs
        )
        return False
    return True


def broker_depth(settings: Settings) -> int | None:
    """Messages waiting in the broker's evaluation queue, or None if unknown."""
    q = settings.backend.queue
    try:
        if settings.redis_url:
            import redis

            client = redis.Redis.from_url(
                settings.redis_url,
                socket_timeout=q.publish_timeout,
                socket_connect_timeout=q.publish_timeout,
            )
            try:
                # Celery's Redis transport keeps one list per priority step.
                keys = [f"{q.key_prefix}:{q.queue_name}"] + [
                    f"{q.key_prefix}:{q.queue_name}\x06\x16{p}" for p in (3, 6, 9)
                ]
                return int(sum(client.llen(k) for k in keys))
            finally:
                client.close()
        return broker.embedded_depth(settings.broker_url, q.queue_name)
    except Exception as exc:  # noqa: BLE001 - unknown depth: the sweeper falls back to age
        log.warning("queue.depth_unknown", error=type(exc).__name__)
        return None


def enqueue_after_commit(db: DbSession, name: TaskName, **kwargs: Any) -> None:
    """Publish once the surrounding transaction commits; dropped on rollback."""
    db.info.setdefault("memoai_jobs", []).append((name, kwargs))


@event.listens_for(DbSession, "after_commit")
def _publish_jobs(session: DbSession) -> None:
    if session.in_nested_transaction():
        return  # SQLAlchemy fires this when a SAVEPOINT is released too: not yet committed
    jobs = session.info.pop("memoai_jobs", [])
    failed: list[str] = []
    failed_replies: list[str] = []
    for name, kwargs in jobs:
        if publish(name, **kwargs):
            continue
        if name is TaskName.EVALUATE:
            failed.append(kwargs["evaluation_id"])
        elif name is TaskName.CHAT_REPLY:
            failed_replies.append(kwargs["message_id"])
    if failed or failed_replies:
        _mark_unpublished(failed, failed_replies)


@event.listens_for(DbSession, "after_rollback")
def _drop_jobs(session: DbSession) -> None:
    session.info.pop("memoai_jobs", None)


def _mark_unpublished(evaluation_ids: list[str], message_ids: list[str] | None = None) -> None:
    # Evaluations and chat replies are created with enqueued_at set (the common
    # case costs no extra write); clear it so the sweeper republishes them as
    # soon as it can.
    from memoai.models import ChatMessage, Evaluation
    from memoai.platform.db import session_scope

    try:
        with session_scope() as db:
            if evaluation_ids:
                db.execute(
                    update(Evaluation)
                    .where(Evaluation.id.in_(evaluation_ids))
                    .values(enqueued_at=None)
                )
            if message_ids:
                db.execute(
                    update(ChatMessage)
                    .where(ChatMessage.id.in_(message_ids), ChatMessage.status == "pending")
                    .values(enqueued_at=None)
                )
    except Exception as exc:  # noqa: BLE001 - the sweeper's age rule still catches them
        log.error(
            "queue.mark_unpublished_failed",
            error=str(exc),
            evaluation_ids=evaluation_ids,
            message_ids=message_ids,
        )
