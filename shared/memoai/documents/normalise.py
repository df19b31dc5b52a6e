"""One form for every extracted text, so that what the writer confirms is what is scored.

Offsets of comments are code points into the submitted text, and the writer
submits exactly the text shown after an upload; normalising here (once, for
every format) keeps the three in agreement: NFC, "\\n" line ends, no control
characters, paragraphs separated by one blank line, no trailing spaces.
"""

from __future__ import annotations

import re
import unicodedata

# Line and paragraph separators of other systems (vertical tab and form feed
# from Word and PDF exports, NEL, U+2028/U+2029) become line ends.
_LINE_ENDS = str.maketrans(
    {"\v": "\n", "\f": "\n\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n\n"}
)
# C0 controls except tab and line feed, DEL, C1 controls, the byte-order mark
# (a zero-width no-break space inside text), noncharacters and lone surrogates
# (which cannot be stored or sent as UTF-8).
_REMOVED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff\ud800-\udfff]")
_TRAILING = re.compile(r"[ \t\u00a0]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")


def normalise(text: str) -> tuple[str, int]:
    """The normalised text and how many control characters were removed from it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_LINE_ENDS)
    text, removed = _REMOVED.subn("", text)
    text = unicodedata.normalize("NFC", text)
    text = _TRAILING.sub("", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip("\n"), removed


def join_blocks(blocks: list[str]) -> str:
    """Paragraph-level blocks, one blank line between each; empty ones dropped."""
    return "\n\n".join(block for block in blocks if block.strip())
