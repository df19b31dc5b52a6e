"""Every stored segment satisfies text[start:end] == segment, or is dropped."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memoai.evaluation.grounding import Locator


def test_exact_match() -> None:
    text = "Intro. We request $1.2M for remote monitoring. Thanks."
    found = Locator(text).locate("We request $1.2M for remote monitoring.")
    assert found is not None
    assert (
        text[found.start : found.end] == found.segment == "We request $1.2M for remote monitoring."
    )


def test_repeated_sentences_take_successive_occurrences() -> None:
    text = "Costs are high. Benefits are unclear. Costs are high."
    locator = Locator(text)
    first = locator.locate("Costs are high.")
    second = locator.locate("Costs are high.")
    assert first is not None and second is not None
    assert (first.start, second.start) == (0, text.rindex("Costs are high."))
    third = locator.locate("Costs are high.")  # no third occurrence: reuse, never invent
    assert third is not None and third.start == 0


def test_crlf_and_collapsed_whitespace_map_back_to_the_original() -> None:
    text = "Line one of the memo\r\ncontinues here.\r\n\r\nNext  paragraph   starts."
    found = Locator(text).locate("Line one of the memo continues here.")
    assert found is not None
    assert found.segment == "Line one of the memo\r\ncontinues here."
    assert text[found.start : found.end] == found.segment
    spaced = Locator(text).locate("Next paragraph starts.")
    assert spaced is not None and spaced.segment == "Next  paragraph   starts."


def test_typographic_quotes_dashes_and_case_are_tolerated() -> None:
    text = "The CFO said “we can’t wait” — and she was right."
    found = Locator(text).locate('the cfo said "we can\'t wait" - and she was right.')
    assert found is not None
    assert found.segment == text


def test_unicode_offsets_are_code_points() -> None:
    text = "Résumé 🚀 año: la inversión de 546.000 € se recupera en 22 meses. 😀 Fin."
    found = Locator(text).locate("la inversión de 546.000 € se recupera en 22 meses.")
    assert found is not None
    assert text[found.start : found.end] == found.segment
    assert found.start == text.index("la inversión")


def test_wrapping_quotes_and_ellipses_are_ignored() -> None:
    text = "We will hire three nurses by June and report monthly."
    found = Locator(text).locate('"We will hire three nurses by June..."')
    assert found is not None
    assert found.segment == "We will hire three nurses by June"


@pytest.mark.parametrize("quote", ["This sentence is not in the memo.", "", "   ", "ab"])
def test_unlocatable_or_trivial_quotes_are_dropped(quote: str) -> None:
    assert Locator("A short memo about budgets and risks.").locate(quote) is None


@settings(max_examples=300, deadline=None)
@given(
    st.text(min_size=1, max_size=400),
    st.integers(min_value=0, max_value=399),
    st.integers(min_value=4, max_value=80),
    st.sampled_from(["exact", "respaced", "crlf"]),
)
def test_any_located_segment_is_an_exact_slice(
    text: str, start: int, length: int, mode: str
) -> None:
    start = min(start, len(text) - 1)
    quote = text[start : start + length]
    if mode == "respaced":
        quote = " ".join(quote.split())
    elif mode == "crlf":
        quote = quote.replace("\n", "\r\n")
    found = Locator(text).locate(quote)
    if found is not None:
        assert text[found.start : found.end] == found.segment
        assert 0 <= found.start < found.end <= len(text)
    elif mode == "exact" and len(quote.strip()) >= 4:
        pytest.fail(f"an exact slice was not found: {quote!r}")
