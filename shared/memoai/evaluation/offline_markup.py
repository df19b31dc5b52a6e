"""Blank out markup and code so the offline evaluator measures only prose.

`mask_markup` returns a text of the same length in which HTML/XML tags,
script and style bodies, comments, Markdown code and link targets, URLs,
e-mail addresses and code-like lines are replaced by spaces (line breaks are
kept). Offsets therefore still point into the original memo, and a sentence
whose original slice equals its masked slice contains no markup at all, so
it can be quoted back to the writer as it stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Elements whose body is never prose (a memo made of a script must not score on its digits).
_OPAQUE = re.compile(
    r"(?is)<(script|style|noscript|template|svg|math|iframe|object|pre|code|textarea)\b[^<>]*>"
    r".*?(?:</\1\s*>|\Z)"
)
# Possessive and bounded repeats throughout: a memo of 100k backticks, brackets or
# spaces must not make any of these patterns quadratic.
_FENCE = re.compile(r"(?ms)^[ \t]*+(`{3,}+|~{3,}+)[^\n]*+\n.*?(?:^[ \t]*+\1[ \t]*+$|\Z)")
_COMMENT = re.compile(r"(?s)<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)")
_DECLARATION = re.compile(r"<[!?][^<>]*>")
_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,10}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_INLINE_CODE = re.compile(r"(?<!`)(`{1,3})(?!`)[^`\n]{1,500}?(?<!`)\1(?!`)")
_IMAGE = re.compile(r"!\[[^\[\]\n]{0,300}\]\([^()\n]{0,500}\)")
_LINK = re.compile(r"\[([^\[\]\n]{1,300})\]\(([^()\n]{0,500})\)")
_LINK_DEF = re.compile(r"(?m)^[ \t]*\[[^\]\n]+\]:[ \t]*\S+.*$")
_URL = re.compile(
    r"(?i)\b(?:https?|ftp|file|data|javascript):[^\s<>\"'`]+|\bwww\.[^\s<>\"'`]+"
    r"|(?<![\w.+-])[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+"
)
_CODE_START = re.compile(
    r"^(?:import\s+[\w.]+|from\s+[\w.]+\s+import\b|def\s+\w+\s*\(|class\s+\w+\s*[(:{]"
    r"|function\b|(?:var|let|const)\s+\w+|return\b.*;|#include\b|#!|(?:public|private|static)\s"
    r"|console\.|print\(|echo\s|sudo\s|curl\s|\$\s|>>>\s|@\w+\("
    r"|SELECT\s.+\sFROM\b|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|DROP\s+TABLE\b"
    r"|CREATE\s+TABLE\b)"
)
_CODE_SYMBOLS = frozenset("{}[];=<>|\\^~`")
_CODE_OPERATOR = re.compile(r"==|=>|->|&&|\|\||::|\+\+|//|/\*|\*/|\+=|!=|<=|>=")
_CALL = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*\(")
_DOTTED = re.compile(r"\b[A-Za-z_]\w+(?:\.[A-Za-z_]\w+)+\b|\b[a-z]+_[a-z_]+\b|\b__\w+")


def _blank(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if chars[i] not in "\r\n":
            chars[i] = " "


def _apply(
    text: str, pattern: re.Pattern[str], span: Callable[[re.Match[str]], list[tuple[int, int]]]
) -> str:
    chars = list(text)
    for match in pattern.finditer(text):
        for start, end in span(match):
            _blank(chars, start, end)
    return "".join(chars)


def _whole(match: re.Match[str]) -> list[tuple[int, int]]:
    return [match.span()]


def _link_markup(match: re.Match[str]) -> list[tuple[int, int]]:
    # Keep the link's words, drop the brackets and the target.
    return [(match.start(), match.start(1)), (match.end(1), match.end())]


def code_score(line: str) -> int:
    """How code-like one line looks; 2 or more is treated as code."""
    s = line.strip()
    if not s:
        return 0
    score = 2 if _CODE_START.match(s) else 0
    symbols = sum(1 for ch in s if ch in _CODE_SYMBOLS)
    operators = len(_CODE_OPERATOR.findall(s))
    dense = (symbols + 2 * operators) / max(1, len(s.replace(" ", "")))
    if symbols + operators >= 3 and dense >= 0.06:
        score += 2
    if s.endswith((";", "{", "}")):
        score += 1
    if _CALL.search(s):
        score += 1
    if _DOTTED.search(s):
        score += 1
    return score


def _code_lines(text: str) -> str:
    chars = list(text)
    pos = 0
    for line in text.splitlines(keepends=True):
        if code_score(line) >= 2:
            _blank(chars, pos, pos + len(line))
        pos += len(line)
    return "".join(chars)


def _table_pipes(text: str) -> str:
    # Table cells are content; only the pipes and the rule under the header go.
    chars = list(text)
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.strip()
        if "---" in body and not body.strip("|:- \t"):
            _blank(chars, pos, pos + len(line))  # |---|:--:|
        elif body.startswith("|") and body.rstrip("|").strip() and body.count("|") >= 2:
            for i, ch in enumerate(line):
                if ch == "|":
                    chars[pos + i] = " "
        pos += len(line)
    return "".join(chars)


def mask_markup(text: str) -> str:
    """The memo with markup and code blanked; same length, same line breaks."""
    masked = _apply(text, _FENCE, _whole)
    masked = _apply(masked, _COMMENT, _whole)
    masked = _apply(masked, _OPAQUE, _whole)
    masked = _apply(masked, _DECLARATION, _whole)
    masked = _apply(masked, _TAG, _whole)
    masked = _apply(masked, _ENTITY, _whole)
    masked = _apply(masked, _INLINE_CODE, _whole)
    masked = _apply(masked, _IMAGE, _whole)
    masked = _apply(masked, _LINK, _link_markup)
    masked = _apply(masked, _LINK_DEF, _whole)
    masked = _apply(masked, _URL, _whole)
    masked = _table_pipes(masked)
    return _code_lines(masked)
