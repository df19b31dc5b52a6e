"""Celery configuration and enqueue-by-name, shared by the API (producer) and the worker.

Jobs are published only after the transaction that created their rows has
committed (`enqueue_after_commit`), and messages carry ids only.

Each task goes to one of five queues (`ROUTES`), so work of one kind never
waits behind another: a chat reply is not stuck behind a batch of 500 memos or
an hour-long backup, and a slow webhook receiver does not hold up the sweeper.
`memoai worker` consumes every queue by default; `-Q chat` (or `-X batches`)
runs a worker dedicated to some of them. The routing table is applied when
publishing (by task name, `task_routes`), so the API needs no task code.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog
from celery import Celery
from sqlalchemy import event, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import SessionTransaction, SessionTransactionOrigin

from memoai.config import Settings, get_settings
from memoai.platform import broker, broker_redis
from memoai.platform.db import AFTER_RELEASE

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


class QueueName(StrEnum):
    EVALUATIONS = "evaluations"  # one memo each, minutes of LLM time at worst
    CHAT = "chat"  # interactive: someone is waiting for the reply
    BATCHES = "batches"  # Message Batches submission and polling
    WEBHOOKS = "webhooks"  # calls to customers' endpoints, at their speed
    MAINTENANCE = "maintenance"  # sweeper, retention, backups


ROUTES: dict[TaskName, QueueName] = {
    TaskName.EVALUATE: QueueName.EVALUATIONS,
    TaskName.CHAT_REPLY: QueueName.CHAT,
    # The self-test asks "does a worker answer now?": the interactive queue is
    # the one that must always have room.
    TaskName.PING: QueueName.CHAT,
    TaskName.BATCH_SUBMIT: QueueName.BATCHES,
    TaskName.BATCH_POLL: QueueName.BATCHES,
    TaskName.DELIVER_WEBHOOK: QueueName.WEBHOOKS,
    TaskName.WEBHOOKS_DUE: QueueName.WEBHOOKS,
    TaskName.SWEEP: QueueName.MAINTENANCE,
    TaskName.CLEANUP: QueueName.MAINTENANCE,
    TaskName.BACKUP: QueueName.MAINTENANCE,
    TaskName.ASSIGNMENTS_DUE: QueueName.MAINTENANCE,
}


def queue_for(name: TaskName) -> str:
    return ROUTES[name].value


# The production secrets a worker needs for what it consumes (see
# memoai.config.settings.require_production_secrets): the LLM key for model
# calls, the webhook signing secret for deliveries. A chat-only worker needs no
# signing secret, so a pod that runs one is not given it.
QUEUE_SECRETS: dict[str, frozenset[str]] = {
    QueueName.EVALUATIONS.value: frozenset({"llm"}),
    QueueName.CHAT.value: frozenset({"llm"}),
    QueueName.BATCHES.value: frozenset({"llm"}),
    QueueName.WEBHOOKS.value: frozenset({"webhooks"}),
    QueueName.MAINTENANCE.value: frozenset(),
}


def secrets_for_queues(queues: list[str]) -> frozenset[str]:
    """What a worker consuming `queues` must be given; an unknown (legacy) queue: anything."""
    needed: set[str] = set()
    for queue in queues:
        needed |= QUEUE_SECRETS.get(queue, frozenset({"llm", "webhooks"}))
    return frozenset(needed)


def worker_queues(settings: Settings) -> list[str]:
    """What `memoai worker` consumes by default: every queue, and the legacy one.

    `backend.queue.queue_name` (CELERY_QUEUE, "memoai") was the single queue
    before tasks were routed; workers still drain it so messages published by
    an older API during an upgrade are not stranded.
    """
    names = [q.value for q in QueueName]
    legacy = settings.backend.queue.queue_name
    return names if legacy in names else [*names, legacy]


def celery_config(settings: Settings) -> dict[str, Any]:
    q = settings.backend.queue
    transport_options: dict[str, Any]
    if settings.uses_embedded_broker:
        broker.register()
        broker_url = broker.url_for(settings.broker_url)
        transport_options = {"polling_interval": q.embedded_polling_interval}
    else:
        broker_redis.register()  # one Redis client per channel, not one per publish
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
        "task_routes": {name.value: {"queue": queue.value} for name, queue in ROUTES.items()},
        # Declared (as Celery would create them on first use) so Flower and
        # `celery inspect` list every queue, even one no worker consumes yet.
        "task_queues": {
            name: {"exchange": name, "routing_key": name} for name in worker_queues(settings)
        },
        "task_default_queue": QueueName.MAINTENANCE.value,  # every task has a route (tested)
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
        # For Flower. The embedded broker has no fanout across processes, so a
        # task-sent event there reached no one and cost each submit a publish.
        "task_send_sent_event": not settings.uses_embedded_broker,
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
            # Our kwargs are a few ids: repr() is exact, and Celery's own
            # (saferepr, for any object) cost a sixth of the publish.
            argsrepr="()",
            kwargsrepr=repr(kwargs),
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


def broker_depths(settings: Settings) -> dict[str, int] | None:
    """Messages waiting in each queue the workers consume, or None if unknown."""
    q = settings.backend.queue
    names = worker_queues(settings)
    try:
        if settings.redis_url:
            import redis

            client = redis.Redis.from_url(
                settings.redis_url,
                socket_timeout=q.publish_timeout,
                socket_connect_timeout=q.publish_timeout,
            )
            try:
                pipe = client.pipeline(transaction=False)
                for name in names:
                    # Celery's Redis transport keeps one list per priority step.
                    pipe.llen(f"{q.key_prefix}:{name}")
                    for p in (3, 6, 9):
                        pipe.llen(f"{q.key_prefix}:{name}\x06\x16{p}")
                lengths = pipe.execute()
            finally:
                client.close()
            return {name: int(sum(lengths[i * 4 : i * 4 + 4])) for i, name in enumerate(names)}
        return broker.embedded_depth(settings.broker_url, names)
    except Exception as exc:  # noqa: BLE001 - unknown depth: the sweeper falls back to age
        log.warning("queue.depth_unknown", error=type(exc).__name__)
        return None


def broker_depth(settings: Settings) -> int | None:
    """Messages waiting in the evaluations queue (and the legacy one), or None if unknown."""
    depths = broker_depths(settings)
    if depths is None:
        return None
    legacy = settings.backend.queue.queue_name
    return depths.get(QueueName.EVALUATIONS.value, 0) + (
        depths.get(legacy, 0) if legacy != QueueName.EVALUATIONS.value else 0
    )


# Jobs are kept per transaction: each job remembers the innermost transaction
# (SAVEPOINT or the outer one) it was queued in. Rolling back a savepoint drops
# the jobs queued inside it (and inside savepoints nested in it) and keeps the
# others; the outer commit publishes what is left; the end of the outer
# transaction, however it ends, forgets them, so nothing leaks into the next
# transaction of a reused session.
_JOBS = "memoai_jobs"


@dataclass(frozen=True)
class _Job:
    transaction: SessionTransaction  # the innermost one when the job was queued
    name: TaskName
    kwargs: dict[str, Any]


def enqueue_after_commit(db: DbSession, name: TaskName, **kwargs: Any) -> None:
    """Publish once the surrounding transaction commits; dropped if it (or the
    savepoint the job was queued in) rolls back."""
    # Begin the transaction now if nothing has yet: a rollback before the first
    # statement must drop the job too.
    transaction = db.get_nested_transaction() or db.get_transaction() or db.begin()
    db.info.setdefault(_JOBS, []).append(_Job(transaction, name, kwargs))


def queued_jobs(db: DbSession) -> list[tuple[TaskName, dict[str, Any]]]:
    """What the next commit would publish (for tests and diagnostics)."""
    return [(job.name, job.kwargs) for job in db.info.get(_JOBS, [])]


def _inside(job: _Job, transaction: SessionTransaction) -> bool:
    current: SessionTransaction | None = job.transaction
    while current is not None:
        if current is transaction:
            return True
        current = current.parent
    return False


def _rolled_back(transaction: SessionTransaction) -> SessionTransaction:
    """What a rollback really undid: a flush's failure rolls back its internal
    subtransaction, which rolls back the savepoint (or the transaction) around it."""
    while (
        transaction.origin is SessionTransactionOrigin.SUBTRANSACTION
        and transaction.parent is not None
    ):
        transaction = transaction.parent
    return transaction


@event.listens_for(DbSession, "after_soft_rollback")
def _drop_rolled_back_jobs(session: DbSession, previous_transaction: SessionTransaction) -> None:
    # Fired for every rollback, a savepoint's included (`after_rollback` does
    # not say which transaction ended, so it cannot tell a savepoint's jobs
    # from the others).
    jobs: list[_Job] = session.info.get(_JOBS, [])
    if not jobs:
        return
    undone = _rolled_back(previous_transaction)
    if undone.parent is None:
        session.info.pop(_JOBS, None)
        return
    session.info[_JOBS] = [job for job in jobs if not _inside(job, undone)]


@event.listens_for(DbSession, "after_transaction_end")
def _forget_jobs(session: DbSession, transaction: SessionTransaction) -> None:
    # The outer transaction is over (committed, and so published, or rolled
    # back or closed): its jobs must not ride along with the next one.
    if transaction.parent is None:
        session.info.pop(_JOBS, None)


@event.listens_for(DbSession, "after_commit")
def _publish_jobs(session: DbSession) -> None:
    if session.in_nested_transaction():
        return  # SQLAlchemy fires this when a SAVEPOINT is released too: not yet committed
    jobs: list[_Job] = session.info.pop(_JOBS, [])
    if not jobs:
        return
    later = session.info.get(AFTER_RELEASE)
    if later is not None:
        # Committed under the SQLite write lock: publish once it is released, so
        # other writers (the worker, other submits) do not wait for the broker.
        later.append(lambda: _publish_all(jobs))
        return
    _publish_all(jobs)


def _publish_all(jobs: list[_Job]) -> None:
    failed: list[str] = []
    failed_replies: list[str] = []
    for job in jobs:
        name, kwargs = job.name, job.kwargs
        if publish(name, **kwargs):
            continue
        if name is TaskName.EVALUATE:
            failed.append(kwargs["evaluation_id"])
        elif name is TaskName.CHAT_REPLY:
            failed_replies.append(kwargs["message_id"])
    if failed or failed_replies:
        _mark_unpublished(failed, failed_replies)


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
