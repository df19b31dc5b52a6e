"""Anchor each quoted segment to exact offsets in the memo.

Exact match first; then a match that ignores differences in whitespace (incl.
CRLF), typographic quotes, dashes and letter case. The stored segment is always
the memo's own slice, so `text[start:end] == segment` holds by construction. A
quote that cannot be found is dropped rather than shown in the wrong place.
"""

from __future__ import annotations

from dataclasses import dataclass

_CHAR_MAP = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "‑": "-", "‒": "-", "−": "-",
    "…": "...",
}  # fmt: skip
_STRIP = " \t\r\n\"'“”‘’«»"
MIN_SEGMENT_CHARS = 4


@dataclass(frozen=True)
class Located:
    start: int
    end: int
    segment: str


class _Normalized:
    """A normalised copy of a text with a map back to original offsets."""

    def __init__(self, text: str) -> None:
        chars: list[str] = []
        index: list[int] = []
        in_space = False
        for i, ch in enumerate(text):
            if ch.isspace():
                if not in_space and chars:
                    chars.append(" ")
                    index.append(i)
                in_space = True
                continue
            in_space = False
            mapped = _CHAR_MAP.get(ch, ch)
            lowered = mapped.lower()
            if len(lowered) != len(mapped):
                lowered = mapped  # e.g. "İ": keep one-to-one mapping
            for c in lowered:
                chars.append(c)
                index.append(i)
        # Drop a trailing space so that it never ends a match.
        if chars and chars[-1] == " ":
            chars.pop()
            index.pop()
        self.text = "".join(chars)
        self.index = index


def _clean_quote(quote: str) -> str:
    quote = quote.strip(_STRIP)
    for ellipsis in ("...", "…"):
        quote = quote.removesuffix(ellipsis).removeprefix(ellipsis)
    return quote.strip(_STRIP)


class Locator:
    """Locates quotes in one memo; repeated quotes take successive occurrences."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._norm: _Normalized | None = None
        self._used: set[tuple[int, int]] = set()

    def locate(self, quote: str) -> Located | None:
        if len(quote.strip()) < MIN_SEGMENT_CHARS:
            return None
        found = self._exact(quote) or self._exact(quote.strip())
        if found is None:
            cleaned = _clean_quote(quote)
            if len(cleaned) < MIN_SEGMENT_CHARS:
                return None
            found = self._exact(cleaned) or self._fuzzy(cleaned)
        if found is None:
            return None
        self._used.add(found)
        start, end = found
        return Located(start, end, self.text[start:end])

    def _exact(self, quote: str) -> tuple[int, int] | None:
        if not quote:
            return None
        first: tuple[int, int] | None = None
        pos = self.text.find(quote)
        while pos != -1:
            span = (pos, pos + len(quote))
            if first is None:
                first = span
            if span not in self._used:
                return span
            pos = self.text.find(quote, pos + 1)
        return first

    def _fuzzy(self, quote: str) -> tuple[int, int] | None:
        if self._norm is None:
            self._norm = _Normalized(self.text)
        norm = self._norm
        needle = _Normalized(quote).text
        if len(needle) < MIN_SEGMENT_CHARS:
            return None
        first: tuple[int, int] | None = None
        pos = norm.text.find(needle)
        while pos != -1:
            start = norm.index[pos]
            end = norm.index[pos + len(needle) - 1] + 1
            span = (start, end)
            if first is None:
                first = span
            if span not in self._used:
                return span
            pos = norm.text.find(needle, pos + 1)
        return first
