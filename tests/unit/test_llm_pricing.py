"""Prices resolved by model family: dated and platform ids find their family,
anything else is unknown (cost None, reported), never another model's price."""

from __future__ import annotations

import pytest
import structlog
from prometheus_client import REGISTRY

from memoai.config.schemas import Price, Pricing
from memoai.llm.base import Usage
from memoai.llm.pricing import cost_usd, model_family, priced_cost, resolve

SONNET = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
HAIKU = Price(input=1.0, output=5.0, cache_read=0.1, cache_write=1.25)
PRICING = Pricing(models={"claude-sonnet-4-5": SONNET, "claude-haiku-4-5": HAIKU})
USAGE = Usage(input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=200_000)


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-5-latest",
        "claude-sonnet-4-5@20250929",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "Claude-Sonnet-4-5-20250929",
    ],
)
def test_dated_and_platform_ids_take_their_familys_price(model: str) -> None:
    match = resolve(PRICING, model)
    assert match.family == "claude-sonnet-4-5"
    assert match.price == SONNET
    assert cost_usd(USAGE, PRICING, model) == pytest.approx(3.0 + 1.5 + 0.06)


@pytest.mark.parametrize(
    "model",
    [
        "claude-sonnet-4-6",  # a newer model of the same line is not the old one
        "claude-sonnet-4-6-20260101",
        "claude-sonnet-4",  # nor is a shorter id a family of its own
        "claude-sonnet-4-5-1",
        "claude-opus-4-5-20251101",
        "llama-3.1-70b",
    ],
)
def test_other_ids_are_unknown_not_guessed(model: str) -> None:
    match = resolve(PRICING, model)
    assert match.price is None
    assert match.source == "unknown"
    assert cost_usd(USAGE, PRICING, model) is None


def test_an_exact_id_entry_wins_over_its_family() -> None:
    dated = Price(input=2.0, output=10.0)
    pricing = Pricing(models={"claude-sonnet-4-5": SONNET, "claude-sonnet-4-5-20250929": dated})
    assert resolve(pricing, "claude-sonnet-4-5-20250929").price == dated
    assert resolve(pricing, "claude-sonnet-4-5-20250930").price == SONNET


def test_an_explicit_default_prices_unlisted_models() -> None:
    fallback = Price(input=9.0, output=9.0)
    pricing = Pricing(models={"claude-sonnet-4-5": SONNET}, default=fallback)
    match = resolve(pricing, "claude-sonnet-4-6")
    assert (match.price, match.source) == (fallback, "default")


def test_no_tokens_cost_nothing_even_without_a_price() -> None:
    assert cost_usd(Usage(), PRICING, "offline-heuristic-v1") == 0.0


def test_family_strips_only_decorations() -> None:
    assert model_family("eu.anthropic.claude-haiku-4-5-20251001-v1:0") == "claude-haiku-4-5"
    assert model_family("claude-haiku-4-5@20251001") == "claude-haiku-4-5"
    assert model_family("claude-3-5-sonnet-20241022") == "claude-3-5-sonnet"
    assert model_family("gpt-4o-2024-08-06") == "gpt-4o-2024-08-06"  # not an 8-digit date


def test_an_unknown_price_is_counted_and_logged_once() -> None:
    model = "claude-sonnet-9-9-20990101"

    def count() -> float:
        value = REGISTRY.get_sample_value(
            "memoai_llm_price_unknown_total", {"provider": "claude", "model": model}
        )
        return value or 0.0

    before = count()
    with structlog.testing.capture_logs() as logs:
        assert priced_cost(USAGE, PRICING, "claude", model) is None
        assert priced_cost(USAGE, PRICING, "claude", model) is None
    assert count() == before + 2
    events = [e for e in logs if e["event"] == "llm.price_unknown"]
    assert len(events) == 1
    assert events[0]["family"] == "claude-sonnet-9-9"


def test_the_shipped_llm_yaml_prices_the_default_model() -> None:
    from memoai.config import get_settings

    settings = get_settings()
    pricing = settings.llm.pricing
    assert pricing.default is None  # unknown models are reported, not priced
    assert resolve(pricing, settings.llm.provider.model).price is not None
    assert resolve(pricing, "claude-sonnet-4-5-20250929").source == "family"
