"""Idempotent submits: the same `Idempotency-Key` and body return the original
evaluation (no second LLM call); the same key with another body is a 409.

Keys are scoped to the caller and kept for 24 hours (the retention job deletes
expired ones). The key row is written in the same transaction as the
evaluation, so a key never points at an evaluation that was rolled back.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from memoai.models import IdempotencyKey, utcnow
from memoai.platform.db import session_scope
from memoai.platform.errors import Conflict, ValidationFailed

R = TypeVar("R")

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
_VALID = re.compile(r"^[\x21-\x7e]{1,255}$")


def check_key(key: str) -> str:
    if not _VALID.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.",
            field=HEADER,
        )
    return key


def request_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def find(db: DbSession, owner: str, key: str) -> IdempotencyKey | None:
    return db.scalars(
        select(IdempotencyKey).where(
            IdempotencyKey.owner == owner,
            IdempotencyKey.key == key,
            IdempotencyKey.expires_at > utcnow(),
        )
    ).first()


def replayable(row: IdempotencyKey, digest: str) -> IdempotencyKey:
    if row.request_sha256 != digest:
        raise Conflict(
            "This Idempotency-Key was already used with a different request body.",
            field=HEADER,
        )
    return row


def remember(
    db: DbSession,
    owner: str,
    key: str,
    digest: str,
    *,
    evaluation_id: str | None = None,
    batch_id: str | None = None,
) -> None:
    # An expired row with the same key would block the unique constraint.
    stale = db.scalars(
        select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    ).first()
    if stale is not None:
        db.delete(stale)
        db.flush()
    db.add(
        IdempotencyKey(
            owner=owner,
            key=key,
            request_sha256=digest,
            evaluation_id=evaluation_id,
            batch_id=batch_id,
            expires_at=utcnow() + TTL,
        )
    )
    db.flush()


def run(
    owner: str,
    key: str | None,
    payload: dict[str, Any],
    create: Callable[[DbSession], tuple[R, dict[str, str]]],
    replay: Callable[[DbSession, IdempotencyKey], R],
) -> tuple[R, bool]:
    """Create in one unit of work, or replay what this key created before.

    `create` returns its result and the ids to remember (evaluation_id or
    batch_id). Returns (result, replayed).
    """
    if key is None:
        with session_scope() as db:
            return create(db)[0], False
    check_key(key)
    digest = request_hash(payload)
    try:
        with session_scope() as db:
            found = find(db, owner, key)
            if found is not None:
                return replay(db, replayable(found, digest)), True
            result, ids = create(db)
            remember(db, owner, key, digest, **ids)
            return result, False
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as it did.
        with session_scope(write=False) as db:
            found = find(db, owner, key)
            if found is None:
                raise
            return replay(db, replayable(found, digest)), True
