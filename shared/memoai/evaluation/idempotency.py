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
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from memoai.errors import Conflict, ValidationFailed
from memoai.models import IdempotencyKey, utcnow

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
