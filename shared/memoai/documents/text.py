"""Plain text and Markdown files: UTF-8 (with or without a byte-order mark), or UTF-16
with one. Other encodings are refused with a way out rather than guessed: a wrong
guess would silently change the memo's characters."""

from __future__ import annotations

import codecs

from memoai.documents.detect import looks_binary
from memoai.documents.errors import NotUtf8, UnsupportedType


def decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise NotUtf8("The file is UTF-32 text. Save it as UTF-8 and upload it again.")
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise NotUtf8(
                    f"The file starts as {codec.upper()} text but is not valid "
                    f"{codec.upper()} (at byte {exc.start + len(bom):,}). Save it as UTF-8 and "
                    "upload it again.",
                    details={"encoding": codec, "position": exc.start + len(bom)},
                ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if looks_binary(data[:4096]):
            raise UnsupportedType(
                "The file is not a document we can read. Save it as .docx, .pdf, .txt or .md "
                "and upload it again.",
                details={"detected": "binary"},
            ) from exc
        raise NotUtf8(
            f"The file is not UTF-8 text (byte 0x{data[exc.start]:02X} at position "
            f"{exc.start:,}); it may be Windows-1252 or Latin-1. Save it as UTF-8 (in most "
            "editors: Save As, Encoding: UTF-8) and upload it again.",
            details={"position": exc.start},
        ) from exc
