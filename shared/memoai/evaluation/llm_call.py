"""The provider call of one evaluation: prompt, stream, repair, fallback.

Owns everything between "here is the memo" and "here is a validated draft":
building the structured request from the prompt templates, the streamed call
under the evaluation deadline with progress reported to the heartbeat, the one
repair turn when the answer does not match the rubric, the switch to the
fallback provider on a retryable failure, the offline (rule-based) path, and
recording token usage and cost. It returns an `Outcome`; it touches no
database and never decides the evaluation's final state.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from memoai.config import BusinessConfig, Settings
from memoai.evaluation.draft import DraftInvalid, EvaluationDraft, output_schema, parse_draft
from memoai.evaluation.leases import LeaseKeeper
from memoai.evaluation.offline import evaluate_offline
from memoai.evaluation.prompts import evaluation_prompt, repair_prompt
from memoai.llm.base import LlmError, Message, StructuredRequest, StructuredResponse, Usage
from memoai.llm.factory import get_fallback_provider, get_provider
from memoai.llm.offline import OfflineProvider
from memoai.llm.pricing import priced_cost
from memoai.llm.retry import deadline
from memoai.platform import metrics

log = structlog.get_logger(__name__)

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
    # Facts for the debug view's timings detail: "structured_output_fallback"
    # when the model refused JSON-schema output, "price_unknown" when its family
    # has no price.
    notes: dict[str, Any] = field(default_factory=dict)


class Progress:
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


def run_with_fallback(
    settings: Settings,
    business: BusinessConfig,
    text: str,
    language: str,
    progress: Progress,
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
    progress: Progress,
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
        notes: dict[str, Any] = {}
        _note_fallback(notes, first)
        try:
            draft = parse(first.data, first.parse_error, business)
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
            _note_fallback(notes, second)
            try:
                draft = parse(second.data, second.parse_error, business)
            except DraftInvalid as exc2:
                raise EvaluationFailed(
                    "llm_bad_output",
                    "The model returned an evaluation that does not match the rubric, twice: "
                    + "; ".join(exc2.problems[:5]),
                ) from exc2
    cost = record_usage(settings, provider.name, model, usage)  # type: ignore[attr-defined]
    if cost is None:
        notes["price_unknown"] = True
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
        notes=notes,
    )


def _note_fallback(notes: dict[str, Any], response: StructuredResponse) -> None:
    if response.structured_output_fallback:
        notes["structured_output_fallback"] = response.structured_output_fallback


def parse(data: Any, parse_error: str | None, business: BusinessConfig) -> EvaluationDraft:
    if data is None:
        raise DraftInvalid([parse_error or "the answer was empty"])
    return parse_draft(data, business.rubric)


def record_usage(settings: Settings, provider: str, model: str, usage: Usage) -> float | None:
    """Count the tokens and the cost; returns the cost (None when the price is unknown)."""
    for kind, value in (
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_read", usage.cache_read_tokens),
        ("cache_creation", usage.cache_creation_tokens),
    ):
        if value:
            metrics.LLM_TOKENS.labels(provider, model, kind).inc(value)
    cost = priced_cost(usage, settings.llm.pricing, provider, model)
    if cost:
        metrics.LLM_COST.labels(provider, model).inc(cost)
    return cost
