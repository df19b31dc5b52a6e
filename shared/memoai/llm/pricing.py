"""Token prices by model family, and what a call cost.

A model id is a family plus, often, a snapshot date or a platform's wrapping:
`claude-sonnet-4-5-20250929`, `claude-sonnet-4-5-latest`,
`claude-sonnet-4-5@20250929` (Vertex AI), `us.anthropic.claude-sonnet-4-5-20250929-v1:0`
(Bedrock). All of them are the family `claude-sonnet-4-5` and cost what llm.yaml
says that family costs. Nothing else is inferred: `claude-sonnet-4-6` is not
`claude-sonnet-4-5` and `claude-sonnet-4` is neither, so an id whose family has
no price costs "unknown" (null), is counted in `memoai_llm_price_unknown_total`
and logged once per process, unless the operator set `pricing.default`, an
explicit price for every unlisted model.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog

from memoai.config.schemas import Price, Pricing
from memoai.platform import metrics

if TYPE_CHECKING:
    from memoai.llm.base import Usage

log = structlog.get_logger(__name__)

# Bedrock: an optional cross-region prefix ("us.", "eu.", "global.") and the
# vendor ("anthropic."), and a version suffix ("-v1:0").
_PLATFORM_PREFIX = re.compile(r"^(?:[a-z]+\.)?anthropic\.")
_PLATFORM_VERSION = re.compile(r"-v\d+(?::\d+)?$")
# A snapshot date (dash on the Claude API and Bedrock, "@" on Vertex AI) or the
# moving alias of the family's newest snapshot.
_SNAPSHOT = re.compile(r"(?:[-@]\d{8}|-latest)$")

Source = Literal["model", "family", "default", "unknown"]


@dataclass(frozen=True)
class PriceMatch:
    price: Price | None
    family: str
    source: Source  # how the price was found: the exact id, its family, the default, or not


def model_family(model: str) -> str:
    """`us.anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5`."""
    name = model.strip().lower()
    name = _PLATFORM_PREFIX.sub("", name)
    name = _PLATFORM_VERSION.sub("", name)
    return _SNAPSHOT.sub("", name)


def resolve(pricing: Pricing, model: str) -> PriceMatch:
    models = {key.strip().lower(): price for key, price in pricing.models.items()}
    exact = model.strip().lower()
    family = model_family(model)
    if exact in models:
        return PriceMatch(models[exact], family, "model")
    if family in models:
        return PriceMatch(models[family], family, "family")
    if pricing.default is not None:
        return PriceMatch(pricing.default, family, "default")
    return PriceMatch(None, family, "unknown")


def cost_usd(usage: Usage, pricing: Pricing, model: str) -> float | None:
    """What these tokens cost in USD; None when the model has no price (never a guess)."""
    if not (
        usage.input_tokens
        or usage.output_tokens
        or usage.cache_read_tokens
        or usage.cache_creation_tokens
    ):
        return 0.0  # nothing used costs nothing, whatever the model
    price = resolve(pricing, model).price
    if price is None:
        return None
    return round(
        (
            usage.input_tokens * price.input
            + usage.output_tokens * price.output
            + usage.cache_read_tokens * price.cache_read
            + usage.cache_creation_tokens * price.cache_write
        )
        / 1_000_000,
        6,
    )


_reported: set[tuple[str, str]] = set()
_reported_lock = threading.Lock()


def priced_cost(usage: Usage, pricing: Pricing, provider: str, model: str) -> float | None:
    """`cost_usd`, and an unknown price reported (metric every time, a log line once)."""
    cost = cost_usd(usage, pricing, model)
    if cost is None:
        metrics.LLM_PRICE_UNKNOWN.labels(provider, model).inc()
        with _reported_lock:
            first = (provider, model) not in _reported
            _reported.add((provider, model))
        if first:
            log.warning(
                "llm.price_unknown",
                provider=provider,
                model=model,
                family=model_family(model),
                hint="add the family to llm.yaml pricing.models; the cost is recorded as null",
            )
    return cost
