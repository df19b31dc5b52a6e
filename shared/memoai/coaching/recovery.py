"""Chat replies that no worker will finish on their own (run by the sweeper).

A conversation takes one question at a time, so a reply stuck in `pending` or
`streaming` would block it for ever (every new message is a 409). Like
evaluations, the database decides:
- a reply whose task was never published (the broker was down at post time),
  or was published long ago and never started (its message was lost), is
  published again — twice is harmless, the task claims `pending` atomically;
- a reply still not started after `chat_pending_timeout` fails with
  `reply_not_started`;
- a reply whose worker stopped renewing its lease (killed mid-reply) fails
  with `reply_interrupted`.
A failed reply can be retried (`POST …/messages/{id}/retry`) or the user asks
again; either is accepted at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update

from memoai.config import get_settings
from memoai.models import ChatMessage, utcnow
from memoai.platform.db import session_scope
from memoai.platform.queue import TaskName, publish

log = structlog.get_logger(__name__)
BATCH = 200

INTERRUPTED = "reply_interrupted"
NOT_STARTED = "reply_not_started"
MESSAGES = {
    INTERRUPTED: "The coach was interrupted while answering. Retry to get a full answer.",
    NOT_STARTED: "The coach could not start answering in time. Retry, or ask again later.",
}


def sweep_replies() -> dict[str, Any]:
    settings = get_settings()
    q = settings.backend.queue
    now = utcnow()
    pending = ChatMessage.status == "pending"
    streaming = ChatMessage.status == "streaming"
    too_old = ChatMessage.created_at < now - timedelta(seconds=q.chat_pending_timeout)
    failed = {
        INTERRUPTED: _fail(
            streaming,
            # A lease that ran out; or a row streaming with no lease at all (written
            # before leases existed) that is far too old to be alive.
            or_(
                ChatMessage.lease_expires_at < now,
                ChatMessage.lease_expires_at.is_(None) & too_old,
            ),
            code=INTERRUPTED,
        ),
        NOT_STARTED: _fail(pending, too_old, code=NOT_STARTED),
    }
    with session_scope(write=False) as db:
        due = db.execute(
            select(ChatMessage.id, ChatMessage.request_id)
            .where(
                pending,
                or_(
                    ChatMessage.enqueued_at.is_(None)
                    & (ChatMessage.created_at < now - timedelta(seconds=q.sweep_unpublished_after)),
                    ChatMessage.enqueued_at < now - timedelta(seconds=q.chat_republish_after),
                ),
            )
            .order_by(ChatMessage.created_at)
            .limit(BATCH)
        ).all()
    republished: list[str] = []
    for row in due:
        if publish(TaskName.CHAT_REPLY, message_id=row.id, request_id=row.request_id):
            republished.append(row.id)
        else:
            break  # broker still down: the next sweep tries again
    if republished:
        with session_scope() as db:
            db.execute(
                update(ChatMessage)
                .where(ChatMessage.id.in_(republished), pending)
                .values(enqueued_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        log.info("sweeper.chat_republished", count=len(republished), ids=republished[:20])
    return {
        "chat_republished": len(republished),
        "chat_interrupted": len(failed[INTERRUPTED]),
        "chat_not_started": len(failed[NOT_STARTED]),
    }


def _fail(*conditions: Any, code: str) -> list[str]:
    with session_scope(write=False) as db:
        ids = list(
            db.scalars(
                select(ChatMessage.id)
                .where(ChatMessage.role == "assistant", *conditions)
                .limit(BATCH)
            ).all()
        )
    if not ids:
        return ids  # the common case costs a read, not a write transaction
    with session_scope() as db:
        # The conditions are repeated: a reply finished meanwhile stays finished.
        db.execute(
            update(ChatMessage)
            .where(ChatMessage.id.in_(ids), *conditions)
            .values(
                status="failed",
                error_code=code,
                error_message=MESSAGES[code],
                lease_token=None,
                lease_expires_at=None,
                completed_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
    log.warning("sweeper.chat_failed", error_code=code, count=len(ids), ids=ids[:20])
    return ids
