"""From an upload's bytes to the text the writer confirms: detect, extract, normalise, check.

Nothing is stored. PDF and Word parsing run in a child process with a time
budget (memoai.documents.isolation); plain text is decoded here, which is
linear in the size of the file and needs no parser.
"""

from __future__ import annotations

import re
from pathlib import Path

from memoai.documents import isolation
from memoai.documents.detect import detect
from memoai.documents.errors import EmptyDocument, FileTooLarge, TextTooLong
from memoai.documents.normalise import normalise
from memoai.documents.pdf import extract_pdf
from memoai.documents.schemas import DetectedType, Extracted, ExtractionWarning, Limits
from memoai.documents.text import decode
from memoai.documents.word import extract_docx

_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ufeff\ud800-\udfff]")
MAX_NAME = 200
_LABEL = {"pdf": "PDF", "docx": "Word document", "text": "file"}


def clean_filename(name: str | None) -> str:
    """The file's own name: no folder (browsers on Windows may send C:\\fakepath\\...)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _NAME_UNSAFE.sub("", base).strip()
    return base[:MAX_NAME] or "upload"


def finish(
    raw: str, warnings: list[ExtractionWarning], kind: DetectedType, max_chars: int
) -> tuple[str, list[ExtractionWarning]]:
    """Normalise, then refuse an empty or over-long text; runs where the text was extracted."""
    text, removed = normalise(raw)
    label = _LABEL[kind]
    if not text.strip():
        raise EmptyDocument(f"The {label} contains no text.")
    if len(text) > max_chars:
        raise TextTooLong(
            f"The {label}'s text is {len(text):,} characters; the limit is {max_chars:,}. "
            "Shorten the memo and upload it again.",
            details={"length": len(text), "max_length": max_chars, "exact": True},
        )
    if removed:
        warnings = [
            *warnings,
            ExtractionWarning(
                code="control_characters_removed",
                message=f"{removed:,} invisible control characters were removed.",
                details={"count": removed},
            ),
        ]
    return text, warnings


def extract_pdf_text(data: bytes, max_chars: int) -> tuple[str, list[ExtractionWarning]]:
    return finish(*extract_pdf(data, max_chars), "pdf", max_chars)


def extract_docx_text(data: bytes, max_chars: int) -> tuple[str, list[ExtractionWarning]]:
    return finish(*extract_docx(data, max_chars), "docx", max_chars)


EXTRACTORS = {"pdf": extract_pdf_text, "docx": extract_docx_text}


def extract_bytes(
    data: bytes, filename: str | None = None, limits: Limits | None = None, *, isolated: bool = True
) -> Extracted:
    """The text of a .docx, .pdf, .txt or .md file's bytes; raises a DocumentError (4xx).

    `isolated=False` parses in this process (tests, or a caller that already
    runs in a disposable process); the time budget then does not apply.
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise FileTooLarge(
            f"The file is {len(data) / 1_048_576:.1f} MB; the limit is "
            f"{limits.max_bytes / 1_048_576:.1f} MB.",
            details={"size": len(data), "max_size": limits.max_bytes},
        )
    if not data:
        raise EmptyDocument("The file is empty.")
    kind = detect(data)
    if kind == "text":
        text, warnings = finish(decode(data), [], kind, limits.max_chars)
    elif isolated:
        result = isolation.run(kind, data, limits.max_chars, limits.timeout)
        text = result["text"]
        warnings = [ExtractionWarning.model_validate(w) for w in result["warnings"]]
    else:
        text, warnings = EXTRACTORS[kind](data, limits.max_chars)
    return Extracted(
        text=text,
        filename=clean_filename(filename),
        detected_type=kind,
        char_count=len(text),
        warnings=warnings,
    )


def extract_file(path: str | Path, limits: Limits | None = None) -> Extracted:
    """The text of a document on disk; reads at most one byte past the size limit."""
    limits = limits or Limits()
    path = Path(path)
    with path.open("rb") as handle:
        data = handle.read(limits.max_bytes + 1)
    return extract_bytes(data, path.name, limits)
