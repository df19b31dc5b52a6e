"""Every query on submissions and evaluations lives here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import defer

from memoai.models import Assignment, Evaluation, EvaluationStatus, Submission, new_id, utcnow
from memoai.platform.identity import Principal
from memoai.platform.storable import storable

Q = EvaluationStatus
_EVAL = cast(Table, Evaluation.__table__)
_SUBMISSION = cast(Table, Submission.__table__)


def _submission_values(
    db: DbSession,
    principal: Principal,
    text: str,
    text_sha256: str,
    title: str | None,
    language: str | None,
    previous: Submission | None,
) -> dict[str, Any]:
    if previous is None:
        lineage_id = new_id()
        version = 1
    else:
        lineage_id = previous.lineage_id
        latest = db.scalar(
            select(func.max(Submission.version_number)).where(Submission.lineage_id == lineage_id)
        )
        version = (latest or 0) + 1
    # Ids are made here, not at flush: the evaluation can point at its memo and
    # the caller set enqueued_at with no flush, so a submit writes each row once.
    return {
        "id": new_id(),
        "session_id": principal.session_fk,
        "user_id": principal.user_id,
        "text_content": text,
        "text_sha256": text_sha256,
        "char_count": len(text),
        "title": title,
        "language": language,
        "lineage_id": lineage_id,
        "version_number": version,
        "previous_submission_id": previous.id if previous else None,
    }


def _evaluation_values(
    principal: Principal,
    submission_id: str,
    request_id: str | None,
    batch_id: str | None,
    callback_url: str | None,
    assignment_id: str | None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "submission_id": submission_id,
        "session_id": principal.session_fk,
        "user_id": principal.user_id,
        "status": Q.QUEUED.value,
        "progress_percentage": 0,
        "request_id": request_id,
        "batch_id": batch_id,
        "callback_url": callback_url,
        "assignment_id": assignment_id,
    }


def add_submission(
    db: DbSession,
    *,
    principal: Principal,
    text: str,
    text_sha256: str,
    title: str | None,
    language: str | None,
    previous: Submission | None,
) -> Submission:
    row = Submission(
        **_submission_values(db, principal, text, text_sha256, title, language, previous)
    )
    db.add(row)
    return row


def add_evaluation(
    db: DbSession,
    *,
    principal: Principal,
    submission: Submission,
    request_id: str | None,
    batch_id: str | None = None,
    callback_url: str | None = None,
    assignment_id: str | None = None,
) -> Evaluation:
    row = Evaluation(
        **_evaluation_values(
            principal, submission.id, request_id, batch_id, callback_url, assignment_id
        )
    )
    db.add(row)
    return row


_INSERT_SUBMISSION = insert(_SUBMISSION)
_INSERT_EVALUATION = insert(_EVAL)


@dataclass(frozen=True)
class Submitted:
    submission_id: str
    evaluation_id: str
    version_number: int


def insert_submitted(
    db: DbSession,
    *,
    principal: Principal,
    text: str,
    text_sha256: str,
    title: str | None,
    language: str | None,
    previous: Submission | None,
    request_id: str | None,
    callback_url: str | None,
    assignment_id: str | None,
    enqueued_at: datetime | None,
) -> Submitted:
    """A memo and its queued evaluation as two Core INSERTs, for the submit.

    The same rows as add_submission + add_evaluation, without the ORM's unit of
    work (its flush of two new objects cost more CPU than the inserts). Rows
    already pending in the session are flushed first, in the order the unit of
    work would have written them (the new rows may point at them)."""
    if db.new:
        db.flush()
    memo = _submission_values(db, principal, text, text_sha256, title, language, previous)
    evaluation = _evaluation_values(
        principal, memo["id"], request_id, None, callback_url, assignment_id
    )
    evaluation["enqueued_at"] = enqueued_at
    db.execute(_INSERT_SUBMISSION, memo)
    db.execute(_INSERT_EVALUATION, evaluation)
    return Submitted(memo["id"], evaluation["id"], memo["version_number"])


def get_owned(db: DbSession, principal: Principal, evaluation_id: str) -> Evaluation | None:
    if not storable(evaluation_id):
        return None
    return db.scalars(
        select(Evaluation).where(Evaluation.id == evaluation_id, principal.owns(Evaluation))
    ).first()


# What a status poll reads: not the result, prompt and response columns of the row.
STATUS_COLUMNS = (
    Evaluation.id,
    Evaluation.status,
    Evaluation.progress_percentage,
    Evaluation.started_at,
    Evaluation.completed_at,
    Evaluation.error_message,
    Evaluation.error_code,
    Evaluation.attempts,
)


# The status poll is the most frequent request: its statements are built once
# (building a select() costs more CPU than running it), one per kind of owner.
_STATUS_OF_USER = select(*STATUS_COLUMNS).where(
    Evaluation.id == bindparam("evaluation_id"), Evaluation.user_id == bindparam("owner")
)
_STATUS_OF_SESSION = select(*STATUS_COLUMNS).where(
    Evaluation.id == bindparam("evaluation_id"), Evaluation.session_id == bindparam("owner")
)


def _owned(principal: Principal, evaluation_id: str) -> dict[str, Any]:
    """Parameters of the prebuilt "this caller's evaluation" statements: the
    owner is the user when there is one (their rows span sessions), else the session."""
    return {"evaluation_id": evaluation_id, "owner": principal.user_id or principal.session_id}


def get_owned_status(
    db: DbSession | Connection, principal: Principal, evaluation_id: str
) -> Any | None:
    """The STATUS_COLUMNS of the caller's evaluation (a Row, read by attribute), or None.

    Owned as Principal.owns says: a user's rows span sessions."""
    if not storable(evaluation_id):
        return None
    query = _STATUS_OF_USER if principal.user_id else _STATUS_OF_SESSION
    return db.execute(query, _owned(principal, evaluation_id)).first()


def get_owned_with_submission(
    db: DbSession, principal: Principal, evaluation_id: str
) -> tuple[Evaluation, Submission] | None:
    if not storable(evaluation_id):
        return None
    row = db.execute(
        select(Evaluation, Submission)
        .join(Submission, Submission.id == Evaluation.submission_id)
        .where(Evaluation.id == evaluation_id, principal.owns(Evaluation))
        # The debug copies of the prompt and the answer (tens of KB when kept)
        # are for the admin's debug view, never the writer's: not read here.
        .options(defer(Evaluation.raw_prompt), defer(Evaluation.raw_response))
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class MemoOfResult:
    """The memo's columns a result shows (to_public reads these off a Submission)."""

    id: str
    text_content: str
    version_number: int
    previous_submission_id: str | None


# The result read, built once: columns, not ORM objects (loading an Evaluation
# and a Submission cost more CPU than the query), every column of the
# evaluation but the debug copies of the prompt and the answer (tens of KB
# when kept: the admin's debug view reads them, never the writer).
_RESULT = (
    select(
        *(c for c in _EVAL.c if c.name not in ("raw_prompt", "raw_response")),
        _SUBMISSION.c.text_content.label("memo_text"),
        _SUBMISSION.c.version_number.label("memo_version"),
        _SUBMISSION.c.previous_submission_id.label("memo_previous"),
    )
    .join(_SUBMISSION, _SUBMISSION.c.id == _EVAL.c.submission_id)
    .where(_EVAL.c.id == bindparam("evaluation_id"))
)
_RESULT_OF_USER = _RESULT.where(_EVAL.c.user_id == bindparam("owner"))
_RESULT_OF_SESSION = _RESULT.where(_EVAL.c.session_id == bindparam("owner"))


def get_owned_result(
    db: DbSession | Connection, principal: Principal, evaluation_id: str
) -> tuple[Any, MemoOfResult] | None:
    """(the evaluation's columns as a Row, its memo) for the caller, or None.

    Owned as Principal.owns says: a user's rows span sessions."""
    if not storable(evaluation_id):
        return None
    query = _RESULT_OF_USER if principal.user_id else _RESULT_OF_SESSION
    row = db.execute(query, _owned(principal, evaluation_id)).first()
    if row is None:
        return None
    memo = MemoOfResult(row.submission_id, row.memo_text, row.memo_version, row.memo_previous)
    return row, memo


def delete_owned(db: DbSession, principal: Principal, evaluation_id: str) -> bool:
    """Delete the caller's evaluation, and its memo unless another evaluation uses it.

    Chat sessions, idempotency keys and webhook deliveries on it go with it
    (ON DELETE CASCADE). False when there is no such evaluation of this caller.
    """
    if not storable(evaluation_id):
        return False
    row = db.execute(
        select(Evaluation.id, Evaluation.submission_id).where(
            Evaluation.id == evaluation_id, principal.owns(Evaluation)
        )
    ).first()
    if row is None:
        return False
    db.execute(delete(Evaluation).where(Evaluation.id == row.id))
    still_used = db.scalar(
        select(func.count())
        .select_from(Evaluation)
        .where(Evaluation.submission_id == row.submission_id)
    )
    if not still_used:
        db.execute(delete(Submission).where(Submission.id == row.submission_id))
    return True


# What a history page shows: columns only, so the memo text, the result JSON
# and the raw prompt and response of each row are not read (or made objects).
SUMMARY_COLUMNS = (
    Evaluation.id,
    Evaluation.status,
    Evaluation.overall_score,
    Evaluation.language,
    Submission.language.label("submission_language"),
    Evaluation.llm_provider,
    Submission.version_number,
    Evaluation.submission_id,
    Evaluation.created_at,
    Evaluation.completed_at,
    Evaluation.assignment_id,
    Submission.title,
)


def _summary_statements(owner: Any, by_status: bool) -> tuple[Any, Any]:
    where = [owner == bindparam("owner")]
    if by_status:
        where.append(Evaluation.status == bindparam("status"))
    count = select(func.count()).select_from(Evaluation).where(*where)
    # The total rides along as an uncorrelated subquery: run once per
    # statement (Postgres's InitPlan), the page keeps its own plan, and one
    # round trip serves both. Only a page past the end has no row to carry it.
    page = (
        select(*SUMMARY_COLUMNS, count.scalar_subquery().label("total"))
        .join(Submission, Submission.id == Evaluation.submission_id)
        .where(*where)
        .order_by(Evaluation.created_at.desc(), Evaluation.id.desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return page, count


# Built once (building a select and its cache key cost more than running it):
# (owner is a user, filtered by status) → (page, count). Owned as Principal.owns says.
_SUMMARIES = {
    (by_user, by_status): _summary_statements(
        Evaluation.user_id if by_user else Evaluation.session_id, by_status
    )
    for by_user in (True, False)
    for by_status in (True, False)
}


def list_owned(
    db: DbSession | Connection,
    principal: Principal,
    *,
    limit: int,
    offset: int,
    status: str | None = None,
) -> tuple[Sequence[Any], int]:
    """A page of SUMMARY_COLUMNS rows (and a `total` column), newest first, and the total."""
    page, count = _SUMMARIES[(bool(principal.user_id), bool(status))]
    params: dict[str, Any] = {"owner": principal.user_id or principal.session_id}
    if status:
        params["status"] = status
    rows = db.execute(page, {**params, "limit": limit, "offset": offset}).all()
    if rows:
        return rows, rows[0].total
    if offset == 0:
        return rows, 0  # no row at all
    return rows, db.execute(count, params).scalar() or 0  # past the end


def mark_enqueued(db: DbSession, evaluation_ids: Sequence[str]) -> None:
    db.execute(
        update(Evaluation)
        .where(Evaluation.id.in_(evaluation_ids), Evaluation.enqueued_at.is_(None))
        .values(enqueued_at=utcnow())
    )


def recent_durations(db: DbSession | Connection, limit: int = 20) -> list[float]:
    rows = db.scalars(
        select(Evaluation.processing_time)
        .where(Evaluation.status == Q.COMPLETED.value, Evaluation.processing_time.is_not(None))
        .order_by(Evaluation.completed_at.desc())
        .limit(limit)
    ).all()
    return [float(r) for r in rows if r is not None]


def queue_depth(db: DbSession) -> int:
    return db.scalar(select(func.count()).where(Evaluation.status == Q.QUEUED.value)) or 0


# ----------------------------------------------------------------- worker side


@dataclass(frozen=True)
class Claimed:
    evaluation_id: str
    lease_token: str
    text: str
    created_at: datetime
    started_at: datetime
    attempts: int
    request_id: str | None
    assignment_id: str | None = None  # a submission to an assignment: its pinned rubric
    debug: bool = False  # keep the raw prompt and response (the admin toggle, read at claim)


def _claimable(now: datetime) -> Any:
    """Queued, or processing under a lease that ran out (its worker died)."""
    return or_(
        Evaluation.status == Q.QUEUED.value,
        (Evaluation.status == Q.PROCESSING.value) & (Evaluation.lease_expires_at < now),
    )


# The worker's statements, built once: building an UPDATE with a dozen values
# (coercing each, then the ORM's bulk-update bookkeeping) cost more CPU than
# running it. Core statements on the table, so the ORM adds nothing at run time.
_CLAIM = (
    update(_EVAL)
    .where(
        _EVAL.c.id == bindparam("evaluation_id"),
        or_(
            _EVAL.c.status == Q.QUEUED.value,
            (_EVAL.c.status == Q.PROCESSING.value)
            & (_EVAL.c.lease_expires_at < bindparam("claim_now", type_=_EVAL.c.started_at.type)),
        ),
        _EVAL.c.attempts < bindparam("max_attempts"),
    )
    .values(
        status=Q.PROCESSING.value,
        lease_token=bindparam("claim_token", type_=_EVAL.c.lease_token.type),
        lease_expires_at=bindparam("claim_until", type_=_EVAL.c.lease_expires_at.type),
        started_at=bindparam("claim_started", type_=_EVAL.c.started_at.type),
        attempts=_EVAL.c.attempts + 1,
        progress_percentage=10,
        error_code=None,
        error_message=None,
    )
)
_CLAIMED = (
    select(
        _EVAL.c.created_at,
        _EVAL.c.attempts,
        _EVAL.c.request_id,
        _EVAL.c.assignment_id,
        _SUBMISSION.c.text_content,
    )
    .join(_SUBMISSION, _SUBMISSION.c.id == _EVAL.c.submission_id)
    .where(_EVAL.c.id == bindparam("evaluation_id"))
)


def claim(
    db: DbSession, evaluation_id: str, lease_seconds: float, max_attempts: int
) -> Claimed | None:
    """Take the evaluation for this worker, or None if it is done, held by a live
    lease, or has used all its attempts (see `fail_exhausted`).

    One conditional UPDATE decides the race between duplicate deliveries: only
    one of them matches the WHERE clause. The attempt budget is part of the same
    condition, so no delivery can start attempt max_attempts + 1.
    """
    now = utcnow()
    token = new_id()
    result = db.execute(
        _CLAIM,
        {
            "evaluation_id": evaluation_id,
            "claim_now": now,
            "max_attempts": max_attempts,
            "claim_token": token,
            "claim_until": now + timedelta(seconds=lease_seconds),
            "claim_started": now,
        },
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = db.execute(_CLAIMED, {"evaluation_id": evaluation_id}).one()
    return Claimed(
        evaluation_id=evaluation_id,
        lease_token=token,
        text=row.text_content,
        created_at=row.created_at,
        started_at=now,
        attempts=row.attempts,
        request_id=row.request_id,
        assignment_id=row.assignment_id,
    )


TOO_MANY_ATTEMPTS = "too_many_attempts"


def exhausted(db: DbSession, max_attempts: int) -> list[str]:
    """Claimable evaluations that used all their attempts (a read, for the sweeper)."""
    return list(
        db.scalars(
            select(Evaluation.id)
            .where(_claimable(utcnow()), Evaluation.attempts >= max_attempts)
            .limit(500)
        ).all()
    )


def fail_exhausted(
    db: DbSession, max_attempts: int, evaluation_ids: Sequence[str] | None = None
) -> list[str]:
    """Fail the claimable evaluations that used all their attempts; returns their ids.

    Each attempt ended without a result (the worker died, or its lease ran
    out), so another one would most likely cost one more model call for
    nothing. The UPDATE repeats the conditions, so a row a worker finished in
    the meantime is left alone.
    """
    now = utcnow()
    conditions = [_claimable(now), Evaluation.attempts >= max_attempts]
    if evaluation_ids is not None:
        conditions.append(Evaluation.id.in_(evaluation_ids))
    ids = list(db.scalars(select(Evaluation.id).where(*conditions).limit(500)).all())
    if not ids:
        return []
    db.execute(
        update(Evaluation)
        .where(Evaluation.id.in_(ids), *conditions)
        .values(
            status=Q.FAILED.value,
            error_code=TOO_MANY_ATTEMPTS,
            error_message=(
                f"The evaluation was interrupted {max_attempts} times (the worker stopped "
                "while processing this memo), so it was not tried again. Retry it, or "
                "contact an administrator if it keeps failing."
            ),
            lease_token=None,
            lease_expires_at=None,
            completed_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    # Re-read: a worker may have finished one of them between the two statements.
    return list(
        db.scalars(
            select(Evaluation.id).where(
                Evaluation.id.in_(ids), Evaluation.error_code == TOO_MANY_ATTEMPTS
            )
        ).all()
    )


# finish() statements by the set of columns written (a completed and a failed
# evaluation write different ones; a handful of shapes in all).
_FINISH: dict[tuple[str, ...], Any] = {}


def _finish_statement(columns: tuple[str, ...]) -> Any:
    statement = _FINISH.get(columns)
    if statement is None:
        statement = (
            update(_EVAL)
            .where(
                _EVAL.c.id == bindparam("evaluation_id"),
                _EVAL.c.lease_token == bindparam("lease"),
                _EVAL.c.status == Q.PROCESSING.value,
            )
            .values(
                {name: bindparam(f"set_{name}", type_=_EVAL.c[name].type) for name in columns}
                | {
                    "lease_expires_at": None,
                    "completed_at": bindparam("set_completed", type_=_EVAL.c.completed_at.type),
                }
            )
        )
        _FINISH[columns] = statement
    return statement


def finish(db: DbSession, evaluation_id: str, lease_token: str, values: dict[str, Any]) -> bool:
    """Write the final state; only the current lease holder can (at-most-once write)."""
    columns = tuple(sorted(values))
    params = {f"set_{name}": values[name] for name in columns}
    params.update(evaluation_id=evaluation_id, lease=lease_token, set_completed=utcnow())
    result = db.execute(_finish_statement(columns), params)
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def set_timings(db: DbSession, evaluation_id: str, timings: dict[str, float]) -> None:
    db.execute(
        update(Evaluation)
        .where(Evaluation.id == evaluation_id)
        .values(timings=timings)
        .execution_options(synchronize_session=False)
    )


def requeue_failed(db: DbSession, evaluation_id: str, request_id: str | None) -> bool:
    result = db.execute(
        update(Evaluation)
        .where(Evaluation.id == evaluation_id, Evaluation.status == Q.FAILED.value)
        .values(
            status=Q.QUEUED.value,
            progress_percentage=0,
            error_code=None,
            error_message=None,
            completed_at=None,
            lease_token=None,
            lease_expires_at=None,
            enqueued_at=utcnow(),
            request_id=request_id,
            # A deliberate retry by the owner starts a fresh attempt budget.
            attempts=0,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def pinned_rubric(db: DbSession, evaluation_id: str) -> tuple[dict[str, Any], str] | None:
    """(rubric snapshot, its version) of the assignment this evaluation answers, if any."""
    row = db.execute(
        select(Assignment.rubric_snapshot, Assignment.rubric_version)
        .join(Evaluation, Evaluation.assignment_id == Assignment.id)
        .where(Evaluation.id == evaluation_id)
    ).first()
    return (row.rubric_snapshot, row.rubric_version) if row else None
