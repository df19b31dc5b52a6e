"""Submitting memos and reading evaluations (the API side of the pipeline)."""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session as DbSession

from memoai.config import Settings
from memoai.evaluation import idempotency
from memoai.evaluation import repository as repo
from memoai.evaluation.language import detect_language
from memoai.evaluation.schemas import (
    EvaluationPage,
    EvaluationPublic,
    EvaluationSubmit,
    EvaluationSummary,
    SegmentFeedback,
    StatusPublic,
    SubmitResult,
)
from memoai.evaluation.text import guess_title
from memoai.models import Evaluation, EvaluationStatus, IdempotencyKey, Submission, utcnow
from memoai.platform.errors import Conflict, NotFound, NotReady, ValidationFailed
from memoai.platform.identity import Principal
from memoai.platform.outbound import validate_url
from memoai.platform.queue import TaskName, enqueue_after_commit

OFFLINE_NOTICE = (
    "Offline evaluation: scored by the built-in rule-based evaluator because no LLM "
    "provider is configured. Scores are indicative."
)


def validate_text(text: str, max_length: int) -> str:
    """Reject what cannot be a memo; the text is otherwise stored verbatim."""
    if "\x00" in text:
        raise ValidationFailed("The memo contains a NUL character.", field="text_content")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationFailed(
            "The memo contains invalid Unicode (an unpaired surrogate).", field="text_content"
        ) from exc
    if not text.strip():
        raise ValidationFailed("The memo is empty.", field="text_content")
    if len(text) > max_length:
        raise ValidationFailed(
            f"The memo is {len(text):,} characters; the limit is {max_length:,}.",
            field="text_content",
            details={"length": len(text), "max_length": max_length},
        )
    return text


def submit_idempotent(
    settings: Settings,
    principal: Principal,
    body: EvaluationSubmit,
    request_id: str | None,
    key: str | None,
    assignment_check: Callable[[DbSession], str | None] | None = None,
) -> tuple[SubmitResult, bool]:
    """Submit in its own unit of work; with a key, a repeat returns the original.

    `assignment_check` (the cohorts domain's) runs first in the same transaction
    and names the assignment the memo answers, or refuses the submit.
    """

    def create(db: DbSession) -> tuple[SubmitResult, dict[str, str]]:
        assignment_id = assignment_check(db) if assignment_check else None
        result = submit(db, settings, principal, body, request_id, assignment_id=assignment_id)
        return result, {"evaluation_id": result.evaluation_id}

    return idempotency.run(
        principal.owner_key,
        key,
        body.model_dump(mode="json"),
        create,
        lambda db, row: _replay(db, settings, principal, row),
    )


def _replay(
    db: DbSession, settings: Settings, principal: Principal, row: IdempotencyKey
) -> SubmitResult:
    found = repo.get_owned_with_submission(db, principal, row.evaluation_id or "")
    if found is None:
        raise NotFound("The evaluation created with this Idempotency-Key no longer exists.")
    evaluation, submission = found
    status = _status_of(db, settings, evaluation)
    return SubmitResult(
        evaluation_id=evaluation.id,
        status=status.status,
        estimated_completion=status.estimated_completion or utcnow(),
        submission_id=submission.id,
        version_number=submission.version_number,
    )


def submit(
    db: DbSession,
    settings: Settings,
    principal: Principal,
    body: EvaluationSubmit,
    request_id: str | None,
    *,
    publish: bool = True,
    assignment_id: str | None = None,
) -> SubmitResult:
    """Store the memo and a queued evaluation.

    `publish=False` is for a caller that runs the pipeline itself (`memoai
    evaluate`): no broker message is sent, so no worker evaluates it a second time.
    """
    text = validate_text(body.text_content, settings.security.input_validation.max_text_length)
    if body.callback_url:
        validate_url(settings, body.callback_url, "callback_url")
    previous: Submission | None = None
    if body.previous_evaluation_id:
        found = repo.get_owned_with_submission(db, principal, body.previous_evaluation_id)
        if found is None:
            raise NotFound(
                "The evaluation to revise was not found.", field="previous_evaluation_id"
            )
        previous = found[1]
    language, _ = detect_language(text)
    created = repo.insert_submitted(
        db,
        principal=principal,
        text=text,
        text_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        title=guess_title(text),
        language=language,
        previous=previous,
        request_id=request_id,
        callback_url=body.callback_url,
        assignment_id=assignment_id,
        # Set optimistically; cleared if the publish after commit fails (see queue.py).
        enqueued_at=utcnow() if publish else None,
    )
    if publish:
        enqueue_after_commit(
            db, TaskName.EVALUATE, evaluation_id=created.evaluation_id, request_id=request_id
        )
    return SubmitResult(
        evaluation_id=created.evaluation_id,
        status="queued",
        estimated_completion=utcnow() + timedelta(seconds=expected_seconds(db, settings)),
        submission_id=created.submission_id,
        version_number=created.version_number,
    )


# Expected processing time, recomputed at most every few seconds per process.
_estimate_lock = threading.Lock()
_estimate: tuple[float, float] = (0.0, 0.0)  # (computed_at, seconds)


def expected_seconds(db: DbSession | Connection, settings: Settings) -> float:
    global _estimate
    now = time.monotonic()
    computed_at, value = _estimate
    if now - computed_at < 10 and value:
        return value
    durations = repo.recent_durations(db)
    if durations:
        value = max(0.5, statistics.median(durations))
    else:
        value = 3.0 if settings.llm_provider == "offline" else 30.0
    with _estimate_lock:
        _estimate = (now, value)
    return value


def status(
    db: DbSession | Connection, settings: Settings, principal: Principal, evaluation_id: str
) -> StatusPublic:
    return status_of_row(db, settings, repo.get_owned_status(db, principal, evaluation_id))


def status_of_row(db: DbSession | Connection, settings: Settings, row: Any) -> StatusPublic:
    """status() from a row of repo.STATUS_COLUMNS, however it was read (None,
    or a row whose columns are all NULL from an outer join: not the caller's)."""
    if row is None or row.id is None:
        raise NotFound("Evaluation not found.", field="evaluation_id")
    return _status_of(db, settings, row)


def _status_of(db: DbSession | Connection, settings: Settings, evaluation: Any) -> StatusPublic:
    """From an Evaluation or a row of repo.STATUS_COLUMNS."""
    state = EvaluationStatus(evaluation.status)
    eta: datetime | None = None
    if state is EvaluationStatus.QUEUED:
        eta = utcnow() + timedelta(seconds=expected_seconds(db, settings))
    elif state is EvaluationStatus.PROCESSING and evaluation.started_at is not None:
        eta = max(
            utcnow(),
            evaluation.started_at + timedelta(seconds=expected_seconds(db, settings)),
        )
    return StatusPublic(
        evaluation_id=evaluation.id,
        status=state.value,
        progress_percentage=100 if state.is_final else evaluation.progress_percentage,
        estimated_completion=eta if not state.is_final else evaluation.completed_at,
        completed_at=evaluation.completed_at,
        error=evaluation.error_message,
        error_code=evaluation.error_code,
        attempts=evaluation.attempts or 0,
        max_attempts=settings.backend.evaluation.max_attempts,
    )


def retry(
    db: DbSession,
    settings: Settings,
    principal: Principal,
    evaluation_id: str,
    request_id: str | None,
) -> StatusPublic:
    """Queue a failed evaluation again (same memo, same id, a fresh attempt budget)."""
    evaluation = repo.get_owned(db, principal, evaluation_id)
    if evaluation is None:
        raise NotFound("Evaluation not found.", field="evaluation_id")
    if evaluation.status != EvaluationStatus.FAILED.value:
        raise Conflict(
            f"Only a failed evaluation can be retried; this one is {evaluation.status}.",
            details={"status": evaluation.status},
        )
    if not repo.requeue_failed(db, evaluation_id, request_id):
        raise Conflict("The evaluation changed while retrying; reload its status.")
    enqueue_after_commit(db, TaskName.EVALUATE, evaluation_id=evaluation_id, request_id=request_id)
    db.refresh(evaluation)
    return _status_of(db, settings, evaluation)


def result(db: DbSession, principal: Principal, evaluation_id: str) -> EvaluationPublic:
    found = repo.get_owned_result(db, principal, evaluation_id)
    if found is None:
        raise NotFound("Evaluation not found.", field="evaluation_id")
    evaluation, submission = found
    if not EvaluationStatus(evaluation.status).is_final:
        raise NotReady(
            f"The evaluation is {evaluation.status}; poll its status and fetch it when completed.",
            details={
                "status": evaluation.status,
                "progress_percentage": evaluation.progress_percentage,
            },
            headers={"Retry-After": "1"},
        )
    return to_public(evaluation, submission)


def delete_own(db: DbSession, principal: Principal, evaluation_id: str) -> None:
    if not repo.delete_owned(db, principal, evaluation_id):
        raise NotFound("Evaluation not found.", field="evaluation_id")


def to_public(
    evaluation: Evaluation | Any, submission: Submission | repo.MemoOfResult
) -> EvaluationPublic:
    """The public view of an evaluation (an ORM object, or a Row of its columns)."""
    offline = evaluation.llm_provider == "offline"
    return EvaluationPublic(
        id=evaluation.id,
        status=evaluation.status,
        overall_score=evaluation.overall_score,
        strengths=evaluation.strengths or [],
        opportunities=evaluation.opportunities or [],
        rubric_scores=evaluation.rubric_scores or {},
        segment_feedback=[SegmentFeedback(**s) for s in evaluation.segment_feedback or []],
        language=evaluation.language,
        llm_provider=evaluation.llm_provider,
        llm_model=evaluation.llm_model,
        offline=offline,
        notice=OFFLINE_NOTICE if offline else None,
        processing_time=evaluation.processing_time,
        queue_wait=evaluation.queue_wait,
        config_version=evaluation.config_version,
        prompt_version=evaluation.prompt_version,
        rubric=evaluation.rubric_snapshot,
        text_content=submission.text_content,
        submission_id=submission.id,
        version_number=submission.version_number,
        previous_submission_id=submission.previous_submission_id,
        created_at=evaluation.created_at,
        completed_at=evaluation.completed_at,
        error=evaluation.error_message,
        error_code=evaluation.error_code,
        usage=_usage(evaluation),
        assignment_id=evaluation.assignment_id,
    )


def _usage(evaluation: Evaluation | Any) -> dict[str, Any]:
    return {
        "input_tokens": evaluation.input_tokens,
        "output_tokens": evaluation.output_tokens,
        "cache_read_tokens": evaluation.cache_read_tokens,
        "cache_creation_tokens": evaluation.cache_creation_tokens,
        "cost_usd": evaluation.cost_usd,
    }


def list_own(
    db: DbSession | Connection,
    principal: Principal,
    *,
    limit: int,
    offset: int,
    status: str | None,
) -> EvaluationPage:
    rows, total = repo.list_owned(db, principal, limit=limit, offset=offset, status=status)
    return EvaluationPage(
        items=[
            EvaluationSummary(
                id=r.id,
                status=r.status,
                overall_score=r.overall_score,
                title=r.title,
                language=r.language or r.submission_language,
                llm_provider=r.llm_provider,
                version_number=r.version_number,
                submission_id=r.submission_id,
                created_at=r.created_at,
                completed_at=r.completed_at,
                assignment_id=r.assignment_id,
            )
            for r in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )
