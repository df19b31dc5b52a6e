"""Claude's Message Batches API for bulk work (`llm.yaml` batch_processing: true).

`submit` claims the batch's queued evaluations with a long lease (a batch may
take up to 24 h) and sends them as one Message Batch; beat's `poll` collects
ended batches and saves each result through the normal grounding and scoring.
Anything that cannot go through the batch (the API refused it, an item errored
or did not validate) falls back to a normal evaluation, so nothing is stuck.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select, update

from memoai.config import business_config, get_settings
from memoai.evaluation.draft import output_schema
from memoai.evaluation.language import detect_language
from memoai.evaluation.pipeline import complete_from_batch
from memoai.evaluation.prompts import evaluation_prompt
from memoai.llm.base import LlmError, Message, StructuredRequest, StructuredResponse
from memoai.llm.factory import get_provider
from memoai.models import Batch, Evaluation, EvaluationStatus, Submission, utcnow
from memoai.platform.db import session_scope
from memoai.platform.queue import TaskName, publish

log = structlog.get_logger(__name__)
BATCH_LEASE = timedelta(hours=25)  # longer than the API's 24 h processing window
Q = EvaluationStatus
# Back to the queue for a normal evaluation, with the batch's claim removed.
_RELEASED: dict[str, Any] = {
    "status": Q.QUEUED.value,
    "lease_token": None,
    "lease_expires_at": None,
    "progress_percentage": 0,
}


def _token(batch_id: str) -> str:
    return f"batch:{batch_id}"[:36]


def submit(batch_id: str) -> str:
    settings = get_settings()
    provider = get_provider(settings)
    if not hasattr(provider, "create_batch"):
        return _fallback(batch_id, "the provider has no batch API")
    now = utcnow()
    token = _token(batch_id)
    with session_scope() as db:
        claimed = db.execute(
            update(Evaluation)
            .where(Evaluation.batch_id == batch_id, Evaluation.status == Q.QUEUED.value)
            .values(
                status=Q.PROCESSING.value,
                lease_token=token,
                lease_expires_at=now + BATCH_LEASE,
                started_at=now,
                attempts=Evaluation.attempts + 1,
                progress_percentage=10,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            return "skipped"
        db.execute(update(Batch).where(Batch.id == batch_id).values(status="submitting"))
    with session_scope(write=False) as db:
        rows = db.execute(
            select(Evaluation.id, Submission.text_content)
            .join(Submission, Submission.id == Evaluation.submission_id)
            .where(Evaluation.batch_id == batch_id, Evaluation.lease_token == token)
        ).all()
    business = business_config(force_check=True)
    rs = settings.llm.request_settings
    requests: list[tuple[str, StructuredRequest]] = []
    for row in rows:
        prompt = evaluation_prompt(business, row.text_content, detect_language(row.text_content)[0])
        requests.append(
            (
                row.id,
                StructuredRequest(
                    system=prompt.system,
                    messages=[Message("user", prompt.user)],
                    schema=output_schema(business.rubric),
                    max_tokens=rs.max_tokens,
                    temperature=rs.temperature,
                ),
            )
        )
    try:
        provider_batch_id = provider.create_batch(requests)
    except LlmError as exc:
        return _fallback(batch_id, exc.message)
    with session_scope() as db:
        db.execute(
            update(Batch)
            .where(Batch.id == batch_id)
            .values(provider_batch_id=provider_batch_id, status="submitted")
        )
    log.info(
        "batch.submitted",
        batch_id=batch_id,
        provider_batch_id=provider_batch_id,
        items=len(requests),
    )
    return "submitted"


def _fallback(batch_id: str, reason: str) -> str:
    """Evaluate the batch's memos one by one instead."""
    log.warning("batch.fallback", batch_id=batch_id, reason=reason)
    with session_scope() as db:
        db.execute(
            update(Evaluation)
            .where(
                Evaluation.batch_id == batch_id,
                Evaluation.status.in_((Q.QUEUED.value, Q.PROCESSING.value)),
                (Evaluation.lease_token == _token(batch_id)) | Evaluation.lease_token.is_(None),
            )
            .values(**_RELEASED, enqueued_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.execute(update(Batch).where(Batch.id == batch_id).values(status="individual"))
        ids = db.scalars(
            select(Evaluation.id).where(
                Evaluation.batch_id == batch_id, Evaluation.status == Q.QUEUED.value
            )
        ).all()
    for evaluation_id in ids:
        publish(TaskName.EVALUATE, evaluation_id=evaluation_id)
    return "fallback"


def poll() -> dict[str, Any]:
    """Beat: collect the results of every ended Message Batch."""
    settings = get_settings()
    provider = get_provider(settings)
    with session_scope(write=False) as db:
        pending = db.execute(
            select(Batch.id, Batch.provider_batch_id).where(Batch.status == "submitted")
        ).all()
    done = 0
    for batch_id, provider_batch_id in pending:
        if provider_batch_id is None:
            continue
        if not hasattr(provider, "batch_ended"):
            _fallback(batch_id, "the provider changed")
            continue
        try:
            if not provider.batch_ended(provider_batch_id):
                continue
            collect(batch_id, provider_batch_id, provider)
            done += 1
        except LlmError as exc:
            log.warning("batch.poll_failed", batch_id=batch_id, error=exc.message)
    return {"pending": len(pending), "collected": done}


def collect(batch_id: str, provider_batch_id: str, provider: Any) -> None:
    token = _token(batch_id)
    with session_scope(write=False) as db:
        texts = dict(
            db.execute(
                select(Evaluation.id, Submission.text_content)
                .join(Submission, Submission.id == Evaluation.submission_id)
                .where(
                    Evaluation.batch_id == batch_id,
                    Evaluation.lease_token == token,
                    Evaluation.status == Q.PROCESSING.value,
                )
            ).all()
        )
    # Only the schema name and output mode matter to read a result back.
    shape = StructuredRequest(system="", messages=[], schema={})
    retry: list[str] = []
    for evaluation_id, outcome in provider.batch_results(
        provider_batch_id, dict.fromkeys(texts, shape)
    ):
        text = texts.pop(evaluation_id, None)
        if text is None:
            continue
        if isinstance(outcome, StructuredResponse) and complete_from_batch(
            evaluation_id, token, text, outcome, provider.name
        ):
            continue
        retry.append(evaluation_id)
    retry += list(texts)  # results missing from the file
    if retry:
        with session_scope() as db:
            db.execute(
                update(Evaluation)
                .where(Evaluation.id.in_(retry), Evaluation.lease_token == token)
                .values(**_RELEASED, enqueued_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        for evaluation_id in retry:
            publish(TaskName.EVALUATE, evaluation_id=evaluation_id)
    with session_scope() as db:
        db.execute(
            update(Batch).where(Batch.id == batch_id).values(status="ended", completed_at=utcnow())
        )
    log.info("batch.collected", batch_id=batch_id, retried_individually=len(retry))
