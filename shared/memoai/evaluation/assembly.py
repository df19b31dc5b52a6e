"""Turn a validated draft into the values stored on the evaluation row.

Owns result assembly: grounding each segment comment in the memo text (a
quote that cannot be found is dropped), the weighted overall score and the
per-criterion scores with their weights, the language (the detector's unless
it was unsure and the model named one), usage and cost, the versions and
rubric snapshot the result was produced with, and the scrubbed raw prompt and
answer kept only in debug mode. It writes nothing: saving is the pipeline's.
"""

from __future__ import annotations

from typing import Any

import structlog

from memoai.config import BusinessConfig, get_settings
from memoai.evaluation.grounding import Locator
from memoai.evaluation.llm_call import Outcome
from memoai.evaluation.scoring import rubric_snapshot, weighted_overall
from memoai.platform.logging import scrub_text

log = structlog.get_logger(__name__)


def result_values(
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
