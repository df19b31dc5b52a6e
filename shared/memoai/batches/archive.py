"""Memos from a zip of .txt/.md files, read in memory with hard limits.

Nothing is written to disk, so entry names cannot escape anywhere; the limits
guard memory and CPU instead. A zip's headers can lie about sizes, so every
entry is read through a bounded stream: at most one byte past its own limit
and never past the archive's total budget, whatever the header claims (that
is the zip-bomb guard). The compressed size is bounded by the API's
max_request_size before any of this runs.
"""

from __future__ import annotations

import io
import zipfile
from typing import Literal

from pydantic import BaseModel

from memoai.evaluation.service import validate_text
from memoai.platform.errors import PayloadTooLarge, ValidationFailed

MAX_ENTRIES = 1000  # entries in the central directory, directories included
MAX_TOTAL_BYTES = 16 * 1024 * 1024  # decompressed, across all entries read
TEXT_SUFFIXES = (".txt", ".md")
CHUNK = 64 * 1024

Reason = Literal["unsupported_type", "too_long", "not_utf8", "invalid", "empty", "encrypted"]


class ArchiveItem(BaseModel):
    filename: str
    text_content: str


class ArchiveRejected(BaseModel):
    filename: str
    reason: Reason
    message: str


class ArchiveContents(BaseModel):
    items: list[ArchiveItem]
    rejected: list[ArchiveRejected]


def _ignored(name: str) -> bool:
    """Folders and the metadata some archivers add (macOS resource forks, dotfiles)."""
    parts = name.split("/")
    return name.endswith("/") or parts[0] == "__MACOSX" or parts[-1].startswith(".")


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The entry's bytes, at most `limit + 1` of them (more than `limit`: too large)."""
    out = bytearray()
    with archive.open(info) as stream:
        while len(out) <= limit and (chunk := stream.read(min(CHUNK, limit + 1 - len(out)))):
            out += chunk
    return bytes(out)


def extract(data: bytes, max_text_length: int) -> ArchiveContents:
    """The archive's memos in name order, and every entry that was not used, with why."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ValidationFailed("The upload is not a readable zip file.", field="file") from exc
    if len(infos) > MAX_ENTRIES:
        raise ValidationFailed(
            f"The zip has {len(infos):,} entries; at most {MAX_ENTRIES:,} are read.", field="file"
        )
    # A memo may hold up to 4 UTF-8 bytes per character.
    per_file = max_text_length * 4
    budget = MAX_TOTAL_BYTES
    items: list[ArchiveItem] = []
    rejected: list[ArchiveRejected] = []

    def refuse(name: str, reason: Reason, message: str) -> None:
        rejected.append(ArchiveRejected(filename=name, reason=reason, message=message))

    for info in sorted(infos, key=lambda i: i.filename):
        name = info.filename[:300]
        if _ignored(info.filename):
            continue
        if not info.filename.lower().endswith(TEXT_SUFFIXES):
            refuse(name, "unsupported_type", "Only .txt and .md files are read.")
            continue
        if info.flag_bits & 0x1:
            refuse(name, "encrypted", "The file is encrypted.")
            continue
        by_budget = budget < per_file
        limit = budget if by_budget else per_file
        try:
            raw = _read_bounded(archive, info, limit)
        except (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError):
            refuse(name, "invalid", "The file could not be decompressed.")
            continue
        budget = max(0, budget - len(raw))  # refused entries cost what was decompressed too
        if len(raw) > limit:
            if by_budget:
                raise PayloadTooLarge(
                    f"The zip decompresses to more than {MAX_TOTAL_BYTES // (1024 * 1024)} MB.",
                    field="file",
                )
            refuse(name, "too_long", f"The memo is longer than {max_text_length:,} characters.")
            continue
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            refuse(name, "not_utf8", "The file is not UTF-8 text.")
            continue
        try:
            validate_text(text, max_text_length)
        except ValidationFailed as exc:
            reason: Reason = "empty" if not text.strip() else "too_long"
            if "\x00" in text:
                reason = "invalid"
            refuse(name, reason, exc.message)
            continue
        items.append(ArchiveItem(filename=name, text_content=text))
    return ArchiveContents(items=items, rejected=rejected)
