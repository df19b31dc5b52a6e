"""Text of a PDF's text layer with pypdf, laid out as lines and paragraphs.

pypdf gives one line per printed line. A memo's paragraphs wrap over several
lines, and a quote spanning a wrap would otherwise contain a line break the
writer never typed, so the lines are joined back: the vertical gap between
baselines tells a new paragraph (a gap clearly wider than the page's usual line
spacing) from a wrapped line; a line that ends well short of the page's longest
lines (a memo's TO:/FROM: header, a list item) keeps its line break.
"""

from __future__ import annotations

import io
import itertools
import statistics
from collections.abc import Sequence
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from memoai.documents.errors import PdfEncrypted, PdfInvalid, PdfNoText, TextTooLong
from memoai.documents.normalise import normalise
from memoai.documents.schemas import ExtractionWarning

PARAGRAPH_GAP = 1.3  # x the usual baseline distance: a new paragraph
SHORT_LINE = 0.75  # x the page's long lines: the line break was the writer's
_LIST_MARKERS = ("•", "◦", "▪", "‣", "-", "–", "—", "*")


class _Line:
    __slots__ = ("text", "y")

    def __init__(self) -> None:
        self.text = ""
        self.y: float | None = None


def _page_lines(page: Any) -> list[_Line]:
    """The page's lines as pypdf reads them, each with the baseline of its first text."""
    lines = [_Line()]

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], *_: Any) -> None:
        parts = text.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append(_Line())
            line = lines[-1]
            if part.strip() and line.y is None and len(cm) == 6 and len(tm) == 6:
                line.y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]  # y of the text matrix on the page
            line.text += part

    page.extract_text(visitor_text=visit)
    return lines


def _starts_item(text: str) -> bool:
    head = text.lstrip()
    if head.startswith(_LIST_MARKERS):
        return True
    number, dot, _ = head.partition(". ")
    return bool(dot) and (number.isdigit() or (len(number) == 1 and number.isalpha()))


def layout(lines: list[_Line]) -> str:
    """Join wrapped lines with a space, keep short lines' breaks, blank line between paragraphs."""
    kept: list[tuple[_Line, bool]] = []  # a line, and whether a blank line came before it
    blank = False
    for line in lines:
        line.text = line.text.rstrip()
        if line.text.strip():
            kept.append((line, blank))
            blank = False
        else:
            blank = bool(kept)
    if not kept:
        return ""
    ys = [line.y for line, _ in kept]
    gaps = [a - b for a, b in itertools.pairwise(ys) if a is not None and b is not None and a > b]
    usual = statistics.median(gaps) if gaps else None
    lengths = sorted(len(line.text) for line, _ in kept)
    long_line = lengths[int(0.9 * (len(lengths) - 1))]
    out = kept[0][0].text.strip()
    for (previous, _), (line, blank_before) in itertools.pairwise(kept):
        gap = previous.y - line.y if previous.y is not None and line.y is not None else None
        if blank_before or (
            usual is not None and gap is not None and (gap <= 0 or gap > PARAGRAPH_GAP * usual)
        ):
            out += "\n\n"
        elif (
            usual is None or len(previous.text) < SHORT_LINE * long_line or _starts_item(line.text)
        ):
            out += "\n"
        elif previous.text.endswith("-"):
            pass  # "well-" + "known": the hyphen stays, no space
        else:
            out += " "
        out += line.text.strip()
    return out


def _open(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except MemoryError:
        raise  # the child reports it as such
    except Exception as exc:  # a malformed PDF can raise anything from the parser
        raise PdfInvalid("The PDF is damaged and cannot be read.") from exc
    if encrypted:
        # Many PDFs are "protected" only against printing or copying, with an
        # empty password to open them: those are read. A real password is not.
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise PdfEncrypted(
                "The PDF is encrypted with a method we cannot open. Save an unprotected copy "
                "(Print > Save as PDF) and upload that."
            ) from exc
        except MemoryError:
            raise  # the child reports it as such
        except Exception as exc:  # damaged encryption dictionaries raise anything
            raise PdfEncrypted("The PDF is encrypted and cannot be opened.") from exc
        if opened == PasswordType.NOT_DECRYPTED:
            raise PdfEncrypted(
                "The PDF is protected with a password. Save an unprotected copy and upload that."
            )
    return reader


def extract_pdf(data: bytes, max_chars: int) -> tuple[str, list[ExtractionWarning]]:
    """The text of every page, pages as paragraphs; stops once it is certainly too long."""
    reader = _open(data)
    try:
        pages = list(reader.pages)
    except MemoryError:
        raise  # the child reports it as such
    except Exception as exc:  # a broken page tree can raise anything
        raise PdfInvalid("The PDF is damaged and its pages cannot be read.") from exc
    texts: list[str] = []
    empty: list[int] = []
    raw_length = 0
    for number, page in enumerate(pages, start=1):
        try:
            text = layout(_page_lines(page))
        except MemoryError:
            raise  # the child reports it as such
        except Exception as exc:  # as above, per page content stream
            raise PdfInvalid(f"Page {number} of the PDF is damaged and cannot be read.") from exc
        if not text.strip():
            empty.append(number)
        texts.append(text)
        raw_length += len(text)
        if raw_length > max_chars:
            # Normalising only shortens; measure what it leaves before giving up.
            length = len(normalise("\n\n".join(texts))[0])
            if length > max_chars:
                more = number < len(pages)
                raise TextTooLong(
                    f"The PDF's text is {'over ' if more else ''}{length:,} characters"
                    f"{f' in its first {number} of {len(pages)} pages' if more else ''}; "
                    f"the limit is {max_chars:,}. Shorten the memo and upload it again.",
                    details={
                        "length": length,
                        "max_length": max_chars,
                        "exact": not more,
                        "pages_read": number,
                        "pages": len(pages),
                    },
                )
    if len(empty) == len(pages):
        raise PdfNoText(
            "The PDF has no text layer: it is probably a scan or a picture of text. Export it "
            "from the original document, or run text recognition (OCR) on it first.",
            details={"pages": len(pages)},
        )
    warnings = []
    if empty:
        warnings.append(
            ExtractionWarning(
                code="pdf_pages_without_text",
                message=f"{len(empty)} of {len(pages)} pages have no text layer (scanned?); "
                "their content is missing.",
                details={"pages": empty, "count": len(empty), "total": len(pages)},
            )
        )
    return "\n\n".join(texts), warnings
