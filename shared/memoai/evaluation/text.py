"""Text helpers with exact character offsets into the original memo."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# A sentence ends at . ! ? (or … ) followed by whitespace, or at a line break.
_SENT_END = re.compile(r"(?<=[.!?…])[\"'”»)]*\s+|\r?\n\s*")


@dataclass(frozen=True)
class Span:
    text: str
    start: int
    end: int


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def sentences(text: str) -> list[Span]:
    """Sentences and standalone lines, with offsets so `text[start:end] == span.text`."""
    spans: list[Span] = []
    pos = 0
    for match in _SENT_END.finditer(text):
        _add(spans, text, pos, match.start())
        pos = match.end()
    _add(spans, text, pos, len(text))
    return spans


def _add(spans: list[Span], text: str, start: int, end: int) -> None:
    # Trim whitespace inside the span but keep offsets exact.
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(text[start:end], start, end))


def paragraphs(text: str) -> list[Span]:
    spans: list[Span] = []
    pos = 0
    for match in re.finditer(r"(?:\r?\n[ \t]*){2,}", text):
        _add(spans, text, pos, match.start())
        pos = match.end()
    _add(spans, text, pos, len(text))
    return spans


def guess_title(text: str, limit: int = 120) -> str:
    """A short label for lists: the subject line if there is one, else the first line."""
    for line in text.splitlines()[:8]:
        stripped = line.strip()
        m = re.match(r"(?i)^(subject|re|asunto|objet|betreff)\s*:\s*(.+)$", stripped)
        if m:
            return m.group(2).strip()[:limit]
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""
