"""Evaluate one memo (the worker side): claim, call the provider, ground, score, save.

This module owns the orchestration and the public entry points: `process`
(claim → run → save or fail, inside the lease heartbeat) for the worker task,
and `complete_from_batch` for Message Batches results. The provider call,
repair and fallback live in `llm_call`; turning the draft into stored values
lives in `assembly`.

No database transaction is held while the model is working: claim, progress
updates and the final write are each their own short unit of work.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import DBAPIError

from memoai.config import Settings, business_config, get_settings
from memoai.evaluation import events, pinned
from memoai.evaluation import repository as repo
from memoai.evaluation.assembly import result_values
from memoai.evaluation.draft import DraftInvalid
from memoai.evaluation.language import detect_language
from memoai.evaluation.leases import LeaseKeeper, keeper
from memoai.evaluation.llm_call import (
    EvaluationFailed,
    Outcome,
    Progress,
    parse,
    record_usage,
    run_with_fallback,
)
from memoai.evaluation.prompts import PromptRenderError
from memoai.llm.base import LlmError, StructuredResponse
from memoai.models import EvaluationStatus
from memoai.platform import metrics
from memoai.platform.appsettings import debug_enabled
from memoai.platform.db import session_scope
from memoai.platform.logging import scrub_text

log = structlog.get_logger(__name__)
T = TypeVar("T")


def process(evaluation_id: str) -> str:
    """Run one evaluation to a final state. Returns what happened (for logs and tests)."""
    settings = get_settings()
    q = settings.backend.queue
    max_attempts = settings.backend.evaluation.max_attempts
    claimed = _with_db_retry(lambda: _claim(evaluation_id, q.lease_seconds, max_attempts))
    if claimed is None:
        if _with_db_retry(lambda: _fail_exhausted(settings, evaluation_id, max_attempts)):
            log.warning("evaluation.failed", error_code=repo.TOO_MANY_ATTEMPTS)
            return "failed"
        log.info("evaluation.skipped", reason="already final or held by another worker")
        return "skipped"
    heartbeat = keeper(q.lease_seconds)
    with heartbeat.hold(evaluation_id, claimed.lease_token):
        return _process_claimed(settings, claimed, heartbeat)


def _claim(evaluation_id: str, lease_seconds: float, max_attempts: int) -> repo.Claimed | None:
    with session_scope() as db:
        claimed = repo.claim(
            db, evaluation_id, lease_seconds=lease_seconds, max_attempts=max_attempts
        )
        if claimed is None:
            return None
        # In the claim's transaction: one read session less per evaluation.
        return dataclasses.replace(claimed, debug=debug_enabled(db))


def _fail_exhausted(settings: Settings, evaluation_id: str, max_attempts: int) -> bool:
    """A delivery of an evaluation out of attempts fails it rather than start another."""
    with session_scope() as db:
        failed = repo.fail_exhausted(db, max_attempts, [evaluation_id])
    for failed_id in failed:
        metrics.EVALUATIONS.labels("failed", settings.llm_provider).inc()
        events.final(failed_id)
    return bool(failed)


def _with_db_retry(fn: Callable[[], T], budget: float = 30.0) -> T:
    """Retry a short unit of work through a database restart or a lock storm.

    The model's answer is never thrown away because the database blinked:
    the final write waits for the database instead of failing the evaluation.
    """
    deadline = time.monotonic() + budget
    delay = 0.2
    while True:
        try:
            return fn()
        except DBAPIError as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("evaluation.db_retry", error=type(exc.orig).__name__, wait=delay)
            time.sleep(delay)
            delay = min(delay * 2, 3.0)


def _process_claimed(settings: Settings, claimed: repo.Claimed, heartbeat: LeaseKeeper) -> str:
    evaluation_id = claimed.evaluation_id
    queue_wait = max(0.0, (claimed.started_at - claimed.created_at).total_seconds())
    metrics.QUEUE_WAIT.observe(queue_wait)
    log.info("evaluation.started", attempt=claimed.attempts, queue_wait=round(queue_wait, 3))
    progress = Progress(evaluation_id, heartbeat)
    started = time.monotonic()
    timings: dict[str, Any] = {"queue_wait": round(queue_wait, 4)}
    provider_name: str = settings.llm_provider
    try:
        # A submission to an assignment is scored with the rubric pinned to it.
        business = business_config(force_check=True)
        if claimed.assignment_id is not None:
            business = pinned.for_evaluation(business, evaluation_id)
        debug = claimed.debug
        language, confidence = detect_language(claimed.text)
        timings["prepare"] = round(time.monotonic() - started, 4)
        outcome = run_with_fallback(settings, business, claimed.text, language, progress, debug)
        provider_name = outcome.provider
        timings["llm"] = round(outcome.llm_time, 4)
        timings["prompt"] = round(outcome.prompt_time, 4)
        timings["provider_total"] = round(time.monotonic() - started - timings["prepare"], 4)
        if outcome.fallback_from:
            timings["fallback_from"] = outcome.fallback_from
        timings.update(outcome.notes)  # structured_output_fallback, price_unknown
        parse_started = time.monotonic()
        values = result_values(business, claimed.text, language, confidence, outcome, debug)
        timings["parse"] = round(time.monotonic() - parse_started, 4)
    except (LlmError, EvaluationFailed, PromptRenderError) as exc:
        code = getattr(exc, "code", "config_error")
        if code == "llm_circuit_open":
            code = "llm_unavailable"
        return _fail(claimed, code, _user_message(exc), started, timings, provider_name)
    except Exception as exc:
        log.exception("evaluation.crashed")
        return _fail(
            claimed,
            "internal_error",
            f"The evaluation failed unexpectedly ({type(exc).__name__}). Please retry.",
            started,
            timings,
            provider_name,
        )

    save_started = time.monotonic()
    processing_time = time.monotonic() - started
    values.update(
        status=EvaluationStatus.COMPLETED.value,
        progress_percentage=100,
        processing_time=round(processing_time, 4),
        queue_wait=round(queue_wait, 4),
        llm_time=round(outcome.llm_time, 4),
        timings=timings,
    )

    def save() -> bool:
        with session_scope() as db:
            return repo.finish(db, evaluation_id, claimed.lease_token, values)

    if not _with_db_retry(save):
        log.warning("evaluation.result_discarded", reason="lease lost to another worker")
        return "discarded"
    if debug:
        # The save time is only known after the save; record it for the debug view.
        timings["save"] = round(time.monotonic() - save_started, 4)
        with session_scope() as db:
            repo.set_timings(db, evaluation_id, timings)
    metrics.EVALUATIONS.labels("completed", provider_name).inc()
    metrics.EVALUATION_DURATION.labels(provider_name).observe(processing_time)
    events.final(evaluation_id)
    log.info(
        "evaluation.completed",
        overall_score=values["overall_score"],
        provider=provider_name,
        processing_time=round(processing_time, 3),
        segments=len(values["segment_feedback"]),
    )
    return "completed"


def _user_message(exc: Exception) -> str:
    if isinstance(exc, LlmError):
        return f"The AI provider could not complete the evaluation: {exc.message}"
    if isinstance(exc, EvaluationFailed):
        return exc.message
    return f"The evaluation could not be prepared: {exc}"


def _fail(
    claimed: repo.Claimed,
    code: str,
    message: str,
    started: float,
    timings: dict[str, Any],
    provider: str,
) -> str:
    values = {
        "status": EvaluationStatus.FAILED.value,
        "error_code": code,
        "error_message": scrub_text(message),
        "processing_time": round(time.monotonic() - started, 4),
        "timings": timings,
    }

    def save() -> bool:
        with session_scope() as db:
            return repo.finish(db, claimed.evaluation_id, claimed.lease_token, values)

    written = _with_db_retry(save)
    if written:
        metrics.EVALUATIONS.labels("failed", provider).inc()
        events.final(claimed.evaluation_id)
    log.warning("evaluation.failed", error_code=code, error=message)
    return "failed"


def complete_from_batch(
    evaluation_id: str,
    lease_token: str,
    text: str,
    response: StructuredResponse,
    provider: str,
    price_factor: float = 0.5,
) -> bool:
    """Save a Message Batches result; False when it must be evaluated on its own.

    An answer that does not validate is not repaired inside a batch (a repair
    is a conversation): the caller queues that memo for a normal evaluation.
    """
    settings = get_settings()
    business = business_config(force_check=True)
    try:
        draft = parse(response.data, response.parse_error, business)
    except DraftInvalid as exc:
        log.info("batch.item_invalid", evaluation_id=evaluation_id, problems=exc.problems[:3])
        return False
    language, confidence = detect_language(text)
    usage = response.usage
    outcome = Outcome(draft=draft, provider=provider, model=response.model, usage=usage)
    with session_scope(write=False) as db:
        debug = debug_enabled(db)
    values = result_values(business, text, language, confidence, outcome, debug)
    # Message Batches are billed at a discount; record what was actually paid.
    cost = record_usage(settings, provider, response.model, usage)
    timings: dict[str, Any] = {"batch": True}
    if cost is None:
        timings["price_unknown"] = True
    else:
        values["cost_usd"] = round(cost * price_factor, 6)
    values.update(status=EvaluationStatus.COMPLETED.value, progress_percentage=100, timings=timings)

    def save() -> bool:
        with session_scope() as db:
            return repo.finish(db, evaluation_id, lease_token, values)

    written = _with_db_retry(save)
    if written:
        metrics.EVALUATIONS.labels("completed", provider).inc()
        events.final(evaluation_id)
    return written
