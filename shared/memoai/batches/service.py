"""Bulk evaluation: many memos as one batch, with status and CSV/JSON export.

A batch is all or nothing at submit time: every item is validated before
anything is stored, and the error names the item (`items.3.text_content`).
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from memoai.config import Settings
from memoai.evaluation import idempotency
from memoai.evaluation import repository as repo
from memoai.evaluation.language import detect_language
from memoai.evaluation.service import validate_text
from memoai.evaluation.text import guess_title
from memoai.models import Batch, Evaluation, EvaluationStatus, Submission, utcnow
from memoai.platform.errors import MemoError, NotFound, ValidationFailed
from memoai.platform.identity import Principal
from memoai.platform.outbound import validate_url
from memoai.platform.queue import TaskName, enqueue_after_commit

MAX_ITEMS = 200


class BatchItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text_content: StrictStr
    previous_evaluation_id: Annotated[StrictStr | None, Field(max_length=64)] = None


class BatchCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Cohort 4 assignments", "items": [{"text_content": "TO: …"}]}]
        },
    )
    name: Annotated[StrictStr | None, Field(max_length=200)] = None
    items: Annotated[list[BatchItemCreate], Field(min_length=1, max_length=MAX_ITEMS)]
    callback_url: Annotated[StrictStr | None, Field(max_length=2048)] = None


class BatchCreated(BaseModel):
    batch_id: str
    status: str
    total: int
    evaluation_ids: list[str]
    mode: Literal["individual", "message_batches"]


class BatchItem(BaseModel):
    index: int
    evaluation_id: str
    title: str | None
    status: str
    progress_percentage: int
    overall_score: float | None
    error_code: str | None
    error: str | None


BatchState = Literal["queued", "processing", "completed", "completed_with_errors"]


class BatchStatus(BaseModel):
    id: str
    name: str | None
    status: BatchState
    total: int
    counts: dict[str, int]
    progress_percentage: int
    mode: Literal["individual", "message_batches"]
    created_at: datetime
    completed_at: datetime | None
    items: list[BatchItem]


class BatchSummary(BaseModel):
    id: str
    name: str | None
    total: int
    created_at: datetime


def _mode(settings: Settings) -> Literal["individual", "message_batches"]:
    batch_api = settings.llm.performance.batch_processing and settings.llm_provider == "claude"
    return "message_batches" if batch_api else "individual"


def _validate(settings: Settings, body: BatchCreate) -> None:
    limit = settings.security.input_validation.max_text_length
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(body.items):
        try:
            validate_text(item.text_content, limit)
        except ValidationFailed as exc:
            problems.append(
                {"index": index, "field": f"items.{index}.text_content", "message": exc.message}
            )
    if problems:
        first = problems[0]
        raise ValidationFailed(
            f"Item {first['index']}: {first['message']} ({len(problems)} invalid item(s); "
            "nothing was stored).",
            field=first["field"],
            details={"invalid_items": problems[:50]},
        )
    if body.callback_url:
        validate_url(settings, body.callback_url, "callback_url")


def create(
    db: DbSession,
    settings: Settings,
    principal: Principal,
    body: BatchCreate,
    request_id: str | None,
) -> BatchCreated:
    _validate(settings, body)
    mode = _mode(settings)
    batch = Batch(
        session_id=principal.session_fk,
        user_id=principal.user_id,
        name=body.name,
        status="queued",
        total=len(body.items),
        callback_url=body.callback_url,
    )
    db.add(batch)
    db.flush()
    ids: list[str] = []
    for index, item in enumerate(body.items):
        previous = None
        if item.previous_evaluation_id:
            found = repo.get_owned_with_submission(db, principal, item.previous_evaluation_id)
            if found is None:
                raise NotFound(
                    "The evaluation to revise was not found.",
                    field=f"items.{index}.previous_evaluation_id",
                )
            previous = found[1]
        text = item.text_content
        submission = repo.add_submission(
            db,
            principal=principal,
            text=text,
            text_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            title=guess_title(text),
            language=detect_language(text)[0],
            previous=previous,
        )
        evaluation = repo.add_evaluation(
            db,
            principal=principal,
            submission=submission,
            request_id=request_id,
            batch_id=batch.id,
            callback_url=body.callback_url,
        )
        evaluation.enqueued_at = utcnow()
        ids.append(evaluation.id)
        if mode == "individual":
            enqueue_after_commit(
                db, TaskName.EVALUATE, evaluation_id=evaluation.id, request_id=request_id
            )
    if mode == "message_batches":
        enqueue_after_commit(db, TaskName.BATCH_SUBMIT, batch_id=batch.id, request_id=request_id)
    return BatchCreated(
        batch_id=batch.id, status="queued", total=len(ids), evaluation_ids=ids, mode=mode
    )


def create_idempotent(
    settings: Settings,
    principal: Principal,
    body: BatchCreate,
    request_id: str | None,
    key: str | None,
) -> tuple[BatchCreated, bool]:
    def make(db: DbSession) -> tuple[BatchCreated, dict[str, str]]:
        created = create(db, settings, principal, body, request_id)
        return created, {"batch_id": created.batch_id}

    return idempotency.run(
        principal.owner_key,
        key,
        body.model_dump(mode="json"),
        make,
        lambda db, row: _replay(db, settings, principal, row),
    )


def _replay(db: DbSession, settings: Settings, principal: Principal, row: Any) -> BatchCreated:
    if row.batch_id is None:
        raise idempotency_mismatch()
    current = status(db, settings, principal, row.batch_id)
    return BatchCreated(
        batch_id=current.id,
        status=current.status,
        total=current.total,
        evaluation_ids=[i.evaluation_id for i in current.items],
        mode=current.mode,
    )


def idempotency_mismatch() -> MemoError:
    from memoai.platform.errors import Conflict

    return Conflict(
        "This Idempotency-Key was used for a single submit, not a batch.", field=idempotency.HEADER
    )


def _owned(db: DbSession, principal: Principal, batch_id: str) -> Batch:
    batch = db.scalars(select(Batch).where(Batch.id == batch_id, principal.owns(Batch))).first()
    if batch is None:
        raise NotFound("Batch not found.", field="batch_id")
    return batch


def _rows(db: DbSession, batch_id: str) -> list[tuple[Evaluation, Submission]]:
    return [
        (r[0], r[1])
        for r in db.execute(
            select(Evaluation, Submission)
            .join(Submission, Submission.id == Evaluation.submission_id)
            .where(Evaluation.batch_id == batch_id)
            .order_by(Evaluation.created_at, Submission.created_at, Evaluation.id)
        ).all()
    ]


def status(db: DbSession, settings: Settings, principal: Principal, batch_id: str) -> BatchStatus:
    batch = _owned(db, principal, batch_id)
    rows = _rows(db, batch.id)
    counts = {s.value: 0 for s in EvaluationStatus}
    for evaluation, _ in rows:
        counts[evaluation.status] += 1
    final = counts["completed"] + counts["failed"]
    state: BatchState
    if rows and final == len(rows):
        state = "completed" if counts["failed"] == 0 else "completed_with_errors"
    elif counts["queued"] == len(rows):
        state = "queued"
    else:
        state = "processing"
    progress = round(
        sum(100 if EvaluationStatus(e.status).is_final else e.progress_percentage for e, _ in rows)
        / max(1, len(rows))
    )
    completed_at = max((e.completed_at for e, _ in rows if e.completed_at), default=None)
    return BatchStatus(
        id=batch.id,
        name=batch.name,
        status=state,
        total=len(rows),
        counts=counts,
        progress_percentage=progress,
        mode="message_batches"
        if batch.provider_batch_id or batch.status == "submitting"
        else _mode(settings)
        if state == "queued"
        else "individual",
        created_at=batch.created_at,
        completed_at=completed_at if state.startswith("completed") else None,
        items=[
            BatchItem(
                index=i,
                evaluation_id=e.id,
                title=s.title,
                status=e.status,
                progress_percentage=100
                if EvaluationStatus(e.status).is_final
                else e.progress_percentage,
                overall_score=e.overall_score,
                error_code=e.error_code,
                error=e.error_message,
            )
            for i, (e, s) in enumerate(rows)
        ],
    )


def list_batches(db: DbSession, principal: Principal, limit: int) -> list[BatchSummary]:
    rows = db.scalars(
        select(Batch).where(principal.owns(Batch)).order_by(Batch.created_at.desc()).limit(limit)
    ).all()
    return [
        BatchSummary(id=b.id, name=b.name, total=b.total, created_at=b.created_at) for b in rows
    ]


def export(db: DbSession, principal: Principal, batch_id: str, fmt: str) -> tuple[str, str]:
    """The batch's results as (content, media type): one CSV row or JSON object per memo."""
    batch = _owned(db, principal, batch_id)
    rows = _rows(db, batch.id)
    criteria: list[str] = []
    for evaluation, _ in rows:
        for name in evaluation.rubric_scores or {}:
            if name not in criteria:
                criteria.append(name)
    records = []
    for index, (evaluation, submission) in enumerate(rows):
        scores = evaluation.rubric_scores or {}
        records.append(
            {
                "index": index,
                "evaluation_id": evaluation.id,
                "title": submission.title or "",
                "status": evaluation.status,
                "overall_score": evaluation.overall_score,
                "language": evaluation.language or submission.language or "",
                "llm_provider": evaluation.llm_provider or "",
                **{name: scores.get(name, {}).get("score") for name in criteria},
                "error": evaluation.error_message or "",
                "strengths": evaluation.strengths or [],
                "opportunities": evaluation.opportunities or [],
            }
        )
    if fmt == "json":
        import json

        return json.dumps(
            {"batch_id": batch.id, "name": batch.name, "criteria": criteria, "items": records},
            ensure_ascii=False,
            indent=2,
        ), "application/json"
    out = io.StringIO()
    columns = [
        "index",
        "evaluation_id",
        "title",
        "status",
        "overall_score",
        "language",
        "llm_provider",
        *criteria,
        "error",
    ]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        # Spreadsheet formula injection: text cells starting with = + - @ are quoted.
        writer.writerow({k: _cell(v) for k, v in record.items()})
    return out.getvalue(), "text/csv; charset=utf-8"


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
