"""Evaluate one memo (the worker side): claim, call the provider, ground, score, save.

No database transaction is held while the model is working: claim, progress
updates and the final write are each their own short unit of work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import DBAPIError

from memoai.config import BusinessConfig, Settings, business_config, get_settings
from memoai.evaluation import events
from memoai.evaluation import repository as repo
from memoai.evaluation.draft import DraftInvalid, EvaluationDraft, output_schema, parse_draft
from memoai.evaluation.grounding import Locator
from memoai.evaluation.language import detect_language
from memoai.evaluation.leases import LeaseKeeper, keeper
from memoai.evaluation.offline import evaluate_offline
from memoai.evaluation.prompts import PromptRenderError, evaluation_prompt, repair_prompt
from memoai.evaluation.scoring import rubric_snapshot, weighted_overall
from memoai.llm.base import LlmError, Message, StructuredRequest, StructuredResponse, Usage
from memoai.llm.factory import get_fallback_provider, get_provider
from memoai.llm.offline import OfflineProvider
from memoai.llm.retry import deadline
from memoai.models import EvaluationStatus
from memoai.platform import metrics
from memoai.platform.appsettings import debug_enabled
from memoai.platform.db import session_scope
from memoai.platform.logging import scrub_text

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Rough size of a complete evaluation in characters, to turn streamed output
# into a progress percentage. Only the progress bar depends on it.
EXPECTED_OUTPUT_CHARS = 4500
PROGRESS_LLM_START, PROGRESS_LLM_END = 10, 85


class EvaluationFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Outcome:
    draft: EvaluationDraft
    provider: str
    model: str
    usage: Usage = field(default_factory=Usage)
    llm_time: float = 0.0
    raw_prompt: str | None = None
    raw_response: str | None = None
    repaired: bool = False
    fallback_from: str | None = None
    prompt_time: float = 0.0


class _Progress:
    """Turns streamed output into a percentage, reported to the heartbeat."""

    def __init__(self, evaluation_id: str, reporter: LeaseKeeper) -> None:
        self.evaluation_id = evaluation_id
        self.reporter = reporter
        self.last_value = 0

    def on_output(self, chars: int) -> None:
        fraction = min(1.0, chars / EXPECTED_OUTPUT_CHARS)
        percent = round(PROGRESS_LLM_START + fraction * (PROGRESS_LLM_END - PROGRESS_LLM_START))
        if percent > self.last_value:
            self.last_value = percent
            self.reporter.report_progress(self.evaluation_id, percent)


def process(evaluation_id: str) -> str:
    """Run one evaluation to a final state. Returns what happened (for logs and tests)."""
    settings = get_settings()
    q = settings.backend.queue
    claimed = _with_db_retry(lambda: _claim(evaluation_id, q.lease_seconds))
    if claimed is None:
        log.info("evaluation.skipped", reason="already final or held by another worker")
        return "skipped"
    heartbeat = keeper(q.lease_seconds)
    with heartbeat.hold(evaluation_id, claimed.lease_token):
        return _process_claimed(settings, claimed, heartbeat)


def _claim(evaluation_id: str, lease_seconds: float) -> repo.Claimed | None:
    with session_scope() as db:
        return repo.claim(db, evaluation_id, lease_seconds=lease_seconds)


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
    progress = _Progress(evaluation_id, heartbeat)
    started = time.monotonic()
    timings: dict[str, Any] = {"queue_wait": round(queue_wait, 4)}
    provider_name: str = settings.llm_provider
    try:
        business = business_config(force_check=True)
        with session_scope(write=False) as db:
            debug = debug_enabled(db)
        language, confidence = detect_language(claimed.text)
        timings["prepare"] = round(time.monotonic() - started, 4)
        outcome = _run_with_fallback(settings, business, claimed.text, language, progress, debug)
        provider_name = outcome.provider
        timings["llm"] = round(outcome.llm_time, 4)
        timings["prompt"] = round(outcome.prompt_time, 4)
        timings["provider_total"] = round(time.monotonic() - started - timings["prepare"], 4)
        if outcome.fallback_from:
            timings["fallback_from"] = outcome.fallback_from
        parse_started = time.monotonic()
        values = _result_values(business, claimed.text, language, confidence, outcome, debug)
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


def _run_with_fallback(
    settings: Settings,
    business: BusinessConfig,
    text: str,
    language: str,
    progress: _Progress,
    debug: bool,
) -> Outcome:
    primary = get_provider(settings)
    try:
        return _run_provider(primary, settings, business, text, language, progress, debug)
    except LlmError as exc:
        secondary = get_fallback_provider(settings) if exc.retryable else None
        if secondary is None:
            raise
        log.warning(
            "evaluation.fallback",
            primary=getattr(primary, "name", "?"),
            secondary=getattr(secondary, "name", "?"),
            error_code=exc.code,
        )
        outcome = _run_provider(secondary, settings, business, text, language, progress, debug)
        outcome.fallback_from = f"{getattr(primary, 'name', '?')}: {exc.code}"
        return outcome


def _run_provider(
    provider: object,
    settings: Settings,
    business: BusinessConfig,
    text: str,
    language: str,
    progress: _Progress,
    debug: bool,
) -> Outcome:
    if isinstance(provider, OfflineProvider):
        t0 = time.monotonic()
        draft = parse_draft(evaluate_offline(text, business.rubric, language), business.rubric)
        return Outcome(
            draft=draft,
            provider=provider.name,
            model=provider.model,
            llm_time=time.monotonic() - t0,
            raw_prompt=None,
            raw_response=draft.model_dump_json() if debug else None,
        )

    prompt_started = time.monotonic()
    prompt = evaluation_prompt(business, text, language)
    rs = settings.llm.request_settings
    request = StructuredRequest(
        system=prompt.system,
        messages=[Message("user", prompt.user)],
        schema=output_schema(business.rubric),
        max_tokens=rs.max_tokens,
        temperature=rs.temperature,
    )
    budget = float(settings.backend.evaluation.timeout_seconds)
    raw_responses: list[str] = []
    prompt_time = time.monotonic() - prompt_started
    with deadline(budget):
        first = provider.generate_structured(request, progress.on_output)  # type: ignore[attr-defined]
        usage, llm_time = first.usage, first.latency
        raw_responses.append(first.text)
        model = first.model
        repaired = False
        try:
            draft = _parse(first.data, first.parse_error, business)
        except DraftInvalid as exc:
            log.info("evaluation.repairing", problems=exc.problems)
            repaired = True
            repair_request = replace(
                request,
                messages=[
                    *request.messages,
                    Message("assistant", first.text or "(no answer)"),
                    Message("user", repair_prompt(business, exc.problems)),
                ],
            )
            second = provider.generate_structured(repair_request)  # type: ignore[attr-defined]
            usage, llm_time = usage + second.usage, llm_time + second.latency
            raw_responses.append(second.text)
            try:
                draft = _parse(second.data, second.parse_error, business)
            except DraftInvalid as exc2:
                raise EvaluationFailed(
                    "llm_bad_output",
                    "The model returned an evaluation that does not match the rubric, twice: "
                    + "; ".join(exc2.problems[:5]),
                ) from exc2
    _record_usage(settings, provider.name, model, usage)  # type: ignore[attr-defined]
    return Outcome(
        draft=draft,
        provider=provider.name,  # type: ignore[attr-defined]
        model=model,
        usage=usage,
        llm_time=llm_time,
        raw_prompt=(
            json.dumps(
                {
                    "system": request.system,
                    "messages": [{"role": m.role, "content": m.content} for m in request.messages],
                },
                ensure_ascii=False,
            )
            if debug
            else None
        ),
        raw_response="\n\n----- repair -----\n\n".join(raw_responses) if debug else None,
        repaired=repaired,
        prompt_time=prompt_time,
    )


def _parse(data: Any, parse_error: str | None, business: BusinessConfig) -> EvaluationDraft:
    if data is None:
        raise DraftInvalid([parse_error or "the answer was empty"])
    return parse_draft(data, business.rubric)


def _record_usage(settings: Settings, provider: str, model: str, usage: Usage) -> None:
    for kind, value in (
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_read", usage.cache_read_tokens),
        ("cache_creation", usage.cache_creation_tokens),
    ):
        if value:
            metrics.LLM_TOKENS.labels(provider, model, kind).inc(value)
    cost = usage.cost_usd(settings.llm.pricing, model)
    if cost:
        metrics.LLM_COST.labels(provider, model).inc(cost)


def _result_values(
    business: BusinessConfig,
    text: str,
    detected: str,
    confidence: float,
    outcome: Outcome,
    debug: bool,
) -> dict[str, Any]:
    rubric = business.rubric
    draft = outcome.draft
    weights = {c.name: c.weight for c in rubric.criteria}
    scores = {s.criterion: s for s in draft.rubric_scores}
    rubric_scores = {
        name: {
            "score": scores[name].score,
            "justification": scores[name].justification,
            "weight": weights[name],
        }
        for name in weights
    }
    overall = weighted_overall(rubric, {name: scores[name].score for name in weights})

    locator = Locator(text)
    segments: list[dict[str, Any]] = []
    dropped = 0
    for item in draft.segment_feedback:
        located = locator.locate(item.segment)
        if located is None:
            dropped += 1
            continue
        segments.append(
            {
                "segment": located.segment,
                "start": located.start,
                "end": located.end,
                "comment": item.comment,
                "questions": list(item.questions),
            }
        )
    segments.sort(key=lambda s: (s["start"], s["end"]))
    if dropped:
        log.info("evaluation.segments_dropped", dropped=dropped, kept=len(segments))

    language = detected
    if confidence < 0.3 and draft.language and len(draft.language) <= 8:
        language = draft.language.lower()

    settings = get_settings()
    return {
        "overall_score": overall,
        "rubric_scores": rubric_scores,
        "strengths": list(draft.strengths),
        "opportunities": list(draft.opportunities),
        "segment_feedback": segments,
        "language": language,
        "llm_provider": outcome.provider,
        "llm_model": outcome.model,
        "input_tokens": outcome.usage.input_tokens,
        "output_tokens": outcome.usage.output_tokens,
        "cache_read_tokens": outcome.usage.cache_read_tokens,
        "cache_creation_tokens": outcome.usage.cache_creation_tokens,
        "cost_usd": outcome.usage.cost_usd(settings.llm.pricing, outcome.model),
        "config_version": business.version,
        "prompt_version": business.prompt.version,
        "rubric_snapshot": rubric_snapshot(rubric),
        "raw_prompt": scrub_text(outcome.raw_prompt) if debug and outcome.raw_prompt else None,
        "raw_response": (
            scrub_text(outcome.raw_response) if debug and outcome.raw_response else None
        ),
    }


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
        draft = _parse(response.data, response.parse_error, business)
    except DraftInvalid as exc:
        log.info("batch.item_invalid", evaluation_id=evaluation_id, problems=exc.problems[:3])
        return False
    language, confidence = detect_language(text)
    usage = response.usage
    outcome = Outcome(draft=draft, provider=provider, model=response.model, usage=usage)
    with session_scope(write=False) as db:
        debug = debug_enabled(db)
    values = _result_values(business, text, language, confidence, outcome, debug)
    # Message Batches are billed at a discount; record what was actually paid.
    values["cost_usd"] = round(values["cost_usd"] * price_factor, 6)
    values.update(
        status=EvaluationStatus.COMPLETED.value, progress_percentage=100, timings={"batch": True}
    )
    _record_usage(settings, provider, response.model, usage)

    def save() -> bool:
        with session_scope() as db:
            return repo.finish(db, evaluation_id, lease_token, values)

    written = _with_db_retry(save)
    if written:
        metrics.EVALUATIONS.labels("completed", provider).inc()
        events.final(evaluation_id)
    return written
