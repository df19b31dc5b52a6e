"""Retention jobs run by beat (`memoai.cleanup`): each step is idempotent and bounded.

- Sessions that expired or were revoked more than `expired_session_grace_hours`
  ago are deleted. An anonymous session's memos, evaluations, chats and
  webhooks are deleted with it: once the session has ended no one can reach
  them, and keeping unreachable text would only keep personal data. A
  logged-in user's data belongs to the user and stays; only the session row goes.
- Idempotency keys past their expiry are deleted.
- API tokens revoked or expired more than `expired_session_grace_hours` ago
  are deleted (until then the owner still sees them, marked, in the list).
- Per user, submissions beyond the newest `keep_submissions_per_user` are
  written to a JSON-lines archive (with their evaluations and chats), and only
  once that file is safely on disk are they deleted.
- Temporary files older than `backend.file_serving.retention_hours` are deleted.
- Rotated log files older than `logging.retention.days` are deleted.
- Progress cache: it lives in each API process and expires its own entries
  (TTL and size bound, see `coaching.progress`); `register_cache_hook` is where
  a shared cache (e.g. Redis) would plug its expiry into this job.

Evaluations still queued or processing are never deleted, so a job never pulls
rows from under a running worker.

One module on purpose: the steps run in order in one job and share its
bounds and its report.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session as DbSession

from memoai.config import Settings
from memoai.models import (
    ApiToken,
    Base,
    Batch,
    ChatMessage,
    ChatSession,
    Evaluation,
    EvaluationStatus,
    IdempotencyKey,
    Session,
    Submission,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from memoai.platform import metrics
from memoai.platform.db import session_scope

log = structlog.get_logger(__name__)

BATCH = 200
MAX_BATCHES = 50  # per run: a large backlog is worked off over several runs
_ACTIVE = (EvaluationStatus.QUEUED.value, EvaluationStatus.PROCESSING.value)

CacheHook = Callable[[Settings], int]
_cache_hooks: dict[str, CacheHook] = {}


def register_cache_hook(name: str, hook: CacheHook) -> None:
    """Let a cache expire its entries during the cleanup run; `hook` returns how many."""
    _cache_hooks[name] = hook


def archive_dir(settings: Settings) -> Path:
    configured = settings.database.retention.archive_directory
    return Path(configured) if configured else settings.runtime.data_dir / "archive"


def run_all(settings: Settings) -> dict[str, int]:
    """Every retention step; a failing step is logged and the others still run."""
    steps: list[tuple[str, Callable[[], int]]] = [
        ("temp_files", lambda: clean_temp_files(settings)),
        ("log_files", lambda: clean_log_files(settings)),
        ("progress_cache", lambda: expire_caches(settings)),
    ]
    if settings.database.retention.enabled:
        steps[:0] = [
            ("sessions", lambda: expire_sessions(settings)),
            ("idempotency_keys", expire_idempotency_keys),
            ("api_tokens", lambda: expire_api_tokens(settings)),
            ("submissions", lambda: trim_submissions(settings)),
        ]
    results: dict[str, int] = {}
    failed: list[str] = []
    for name, step in steps:
        try:
            results[name] = step()
        except Exception:  # one broken step must not stop the others
            log.exception("retention.step_failed", step=name)
            failed.append(name)
            continue
        if results[name]:
            metrics.RETENTION_DELETED.labels(name).inc(results[name])
    log.info("retention.done", **results, failed=failed)
    if failed:
        raise RuntimeError(f"retention steps failed: {', '.join(failed)}")
    return results


# ------------------------------------------------------------------ sessions


def expire_sessions(settings: Settings, *, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - timedelta(
        hours=settings.database.retention.expired_session_grace_hours
    )
    deleted = 0
    for _ in range(MAX_BATCHES):
        with session_scope() as db:
            rows = db.execute(
                select(Session.id, Session.kind)
                .where(
                    or_(
                        Session.expires_at < cutoff,
                        Session.revoked_at < cutoff,
                    )
                )
                .order_by(Session.expires_at)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            anonymous = [r.id for r in rows if r.kind != "user"]
            busy = _sessions_with_active_work(db, anonymous)
            ids = [r.id for r in rows if r.id not in busy]
            anonymous = [i for i in anonymous if i not in busy]
            if anonymous:
                _delete_anonymous_data(db, anonymous)
            if ids:
                db.execute(delete(WebhookEndpoint).where(WebhookEndpoint.session_id.in_(ids)))
                db.execute(delete(Session).where(Session.id.in_(ids)))
            deleted += len(ids)
            if len(rows) < BATCH or not ids:
                break
    if deleted:
        log.info("retention.sessions_deleted", count=deleted)
    return deleted


def _sessions_with_active_work(db: DbSession, session_ids: Sequence[str]) -> set[str]:
    if not session_ids:
        return set()
    return {
        sid
        for sid in db.scalars(
            select(Evaluation.session_id).where(
                Evaluation.session_id.in_(session_ids), Evaluation.status.in_(_ACTIVE)
            )
        ).all()
        if sid is not None
    }


def _delete_anonymous_data(db: DbSession, session_ids: Sequence[str]) -> None:
    anonymous = Submission.user_id.is_(None)
    submission_ids = db.scalars(
        select(Submission.id).where(Submission.session_id.in_(session_ids), anonymous)
    ).all()
    evaluation_ids = db.scalars(
        select(Evaluation.id).where(
            or_(
                Evaluation.submission_id.in_(submission_ids),
                Evaluation.session_id.in_(session_ids) & Evaluation.user_id.is_(None),
            )
        )
    ).all()
    _delete_evaluation_tree(db, evaluation_ids, extra_chat_sessions=session_ids)
    db.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.owner.in_([f"session:{sid}" for sid in session_ids])
        )
    )
    db.execute(delete(Batch).where(Batch.session_id.in_(session_ids), Batch.user_id.is_(None)))
    _delete_submissions(db, submission_ids)


def _delete_evaluation_tree(
    db: DbSession, evaluation_ids: Sequence[str], *, extra_chat_sessions: Sequence[str] = ()
) -> None:
    """Chats, webhook deliveries and idempotency keys of these evaluations, then them."""
    chat_filter: ColumnElement[bool] = ChatSession.evaluation_id.in_(evaluation_ids)
    if extra_chat_sessions:
        chat_filter = or_(
            chat_filter,
            ChatSession.session_id.in_(extra_chat_sessions) & ChatSession.user_id.is_(None),
        )
    chat_ids = db.scalars(select(ChatSession.id).where(chat_filter)).all()
    for chunk in _chunks(chat_ids):
        # Replies point at the message they answer: delete replies first.
        db.execute(
            delete(ChatMessage).where(
                ChatMessage.chat_session_id.in_(chunk), ChatMessage.reply_to_id.is_not(None)
            )
        )
        db.execute(delete(ChatMessage).where(ChatMessage.chat_session_id.in_(chunk)))
        db.execute(delete(ChatSession).where(ChatSession.id.in_(chunk)))
    for chunk in _chunks(evaluation_ids):
        db.execute(delete(WebhookDelivery).where(WebhookDelivery.evaluation_id.in_(chunk)))
        db.execute(delete(IdempotencyKey).where(IdempotencyKey.evaluation_id.in_(chunk)))
        db.execute(delete(Evaluation).where(Evaluation.id.in_(chunk)))


def _delete_submissions(db: DbSession, submission_ids: Sequence[str]) -> None:
    for chunk in _chunks(submission_ids):
        # A later revision may point at one of these; keep it, just unlinked.
        db.execute(
            update(Submission)
            .where(Submission.previous_submission_id.in_(chunk))
            .values(previous_submission_id=None)
        )
        db.execute(delete(Submission).where(Submission.id.in_(chunk)))


def expire_idempotency_keys(*, now: datetime | None = None) -> int:
    with session_scope() as db:
        result = db.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at < (now or utcnow()))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def expire_api_tokens(settings: Settings, *, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - timedelta(
        hours=settings.database.retention.expired_session_grace_hours
    )
    with session_scope() as db:
        result = db.execute(
            delete(ApiToken).where(or_(ApiToken.revoked_at < cutoff, ApiToken.expires_at < cutoff))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ submissions


def trim_submissions(settings: Settings) -> int:
    keep = settings.database.retention.keep_submissions_per_user
    if keep <= 0:
        return 0
    with session_scope(write=False) as db:
        users = db.scalars(
            select(Submission.user_id)
            .where(Submission.user_id.is_not(None))
            .group_by(Submission.user_id)
            .having(func.count() > keep)
        ).all()
    deleted = 0
    for user_id in users:
        assert user_id is not None
        deleted += _trim_user(settings, user_id, keep)
    return deleted


def _trim_user(settings: Settings, user_id: str, keep: int) -> int:
    with session_scope(write=False) as db:
        old_ids = db.scalars(
            select(Submission.id)
            .where(Submission.user_id == user_id)
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .offset(keep)
            .limit(BATCH * MAX_BATCHES)
        ).all()
        # Still running, or coursework: a submission to an assignment belongs to the
        # cohort's gradebook and goes only with its assignment or cohort.
        busy = set(
            db.scalars(
                select(Evaluation.submission_id).where(
                    Evaluation.submission_id.in_(old_ids),
                    Evaluation.status.in_(_ACTIVE) | Evaluation.assignment_id.is_not(None),
                )
            ).all()
        )
        ids = [i for i in old_ids if i not in busy]
        if not ids:
            return 0
        records = list(_archive_records(db, ids))
    path = _write_archive(settings, user_id, records)
    with session_scope() as db:
        evaluation_ids = db.scalars(
            select(Evaluation.id).where(Evaluation.submission_id.in_(ids))
        ).all()
        _delete_evaluation_tree(db, evaluation_ids)
        _delete_submissions(db, ids)
    log.info("retention.submissions_archived", user_id=user_id, count=len(ids), archive=str(path))
    return len(ids)


def _archive_records(db: DbSession, submission_ids: Sequence[str]) -> Iterable[dict[str, Any]]:
    for chunk in _chunks(submission_ids):
        submissions = db.scalars(select(Submission).where(Submission.id.in_(chunk))).all()
        evaluations = db.scalars(
            select(Evaluation).where(Evaluation.submission_id.in_(chunk))
        ).all()
        chats = db.scalars(
            select(ChatSession).where(ChatSession.evaluation_id.in_([e.id for e in evaluations]))
        ).all()
        messages = db.scalars(
            select(ChatMessage)
            .where(ChatMessage.chat_session_id.in_([c.id for c in chats]))
            .order_by(ChatMessage.created_at)
        ).all()
        for submission in submissions:
            evals = [e for e in evaluations if e.submission_id == submission.id]
            yield {
                "submission": _row(submission),
                "evaluations": [
                    {
                        **_row(e),
                        "chat_sessions": [
                            {
                                **_row(c),
                                "messages": [
                                    _row(m) for m in messages if m.chat_session_id == c.id
                                ],
                            }
                            for c in chats
                            if c.evaluation_id == e.id
                        ],
                    }
                    for e in evals
                ],
            }


def _row(obj: Base) -> dict[str, Any]:
    return {column.key: _jsonable(getattr(obj, column.key)) for column in obj.__table__.columns}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _write_archive(settings: Settings, user_id: str, records: list[dict[str, Any]]) -> Path:
    directory = archive_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = directory / f"submissions-{user_id}-{stamp}.jsonl.gz"
    partial = directory / f".{final.name}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False, sort_keys=True).encode())
                out.write(b"\n")
        raw.flush()
        # The rows are deleted right after: the archive must be on disk first.
        os.fsync(raw.fileno())
    os.replace(partial, final)
    return final


# ------------------------------------------------------------------ files


def clean_temp_files(settings: Settings, *, now: float | None = None) -> int:
    hours = settings.backend.file_serving.retention_hours
    return _delete_older(settings.temp_dir, (now or time.time()) - hours * 3600, pattern="*")


def clean_log_files(settings: Settings, *, now: float | None = None) -> int:
    cfg = settings.logging
    if not cfg.outputs.file.enabled:
        return 0
    configured = cfg.outputs.file.path
    directory = Path(configured).parent if configured else settings.runtime.data_dir / "logs"
    if configured and not Path(configured).suffix:
        directory = Path(configured)
    cutoff = (now or time.time()) - cfg.retention.days * 86400
    # Only rotated files (app.log.2026-11-20, app.log.3.gz); the live file stays.
    return _delete_older(directory, cutoff, pattern="*.log.*")


def _delete_older(root: Path, cutoff: float, *, pattern: str) -> int:
    if not root.is_dir():
        return 0
    deleted = 0
    for path in sorted(root.rglob(pattern), key=lambda p: len(p.parts), reverse=True):
        try:
            st = path.lstat()
            if path.is_symlink() or path.is_file():
                if st.st_mtime < cutoff:
                    path.unlink()
                    deleted += 1
            elif path.is_dir() and st.st_mtime < cutoff and not any(path.iterdir()):
                path.rmdir()
        except FileNotFoundError:
            continue  # removed by someone else meanwhile
    return deleted


def expire_caches(settings: Settings) -> int:
    return sum(hook(settings) for hook in _cache_hooks.values())


def _chunks(items: Sequence[str], size: int = BATCH) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
