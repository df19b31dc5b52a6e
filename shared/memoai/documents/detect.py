"""What a file is, from its first bytes (and a zip's directory), never from its name.

A .pdf that is really a PNG, or a .txt that is really a zip, is refused for
what it is. Word's password protection wraps the document in an OLE compound
file, so an encrypted .docx is recognised there and named as such.
"""

from __future__ import annotations

import codecs
import io
import zipfile

from memoai.documents.errors import DocxEncrypted, DocxInvalid, NotUtf8, UnsupportedType
from memoai.documents.schemas import DetectedType

WORD_MAIN_PART = "word/document.xml"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PDF_MAGIC = b"%PDF-"
PDF_HEADER_WINDOW = 1024  # readers accept a few bytes of junk before the header
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Binary formats people upload by mistake, named in the refusal.
_KNOWN_BINARY: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"{\\rtf", "an RTF document"),
)
# Bytes that do not occur in text in any 8-bit encoding (tab, LF, CR, FF excepted).
_BINARY_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_SAVE_AS = "Save it as .docx, .pdf, .txt or .md and upload it again."


def _zip_kind(data: bytes) -> DetectedType:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        # Of all zips only a .docx is accepted: an unreadable one is a broken document.
        raise DocxInvalid(
            "The file looks like a Word document (a zip) but it is damaged and cannot be read."
        ) from exc
    if WORD_MAIN_PART in names:
        return "docx"
    if "content.xml" in names:
        what = "an OpenDocument file"
    elif "xl/workbook.xml" in names:
        what = "an Excel workbook"
    elif "ppt/presentation.xml" in names:
        what = "a PowerPoint presentation"
    else:
        what = "a zip archive"
    raise UnsupportedType(
        f"The file is {what}, not a Word document. {_SAVE_AS}", details={"detected": what}
    )


def _looks_like_utf16(sample: bytes) -> bool:
    """Mostly ASCII text in UTF-16 without a byte-order mark: every other byte is NUL."""
    if len(sample) < 4:
        return False
    even = sample[0::2].count(0) / len(sample[0::2])
    odd = sample[1::2].count(0) / len(sample[1::2])
    return max(even, odd) > 0.4 and min(even, odd) < 0.05


def looks_binary(sample: bytes) -> bool:
    """More than 1% of bytes that no text encoding uses: not text (a stray NUL is cleaned)."""
    return sum(sample.count(b) for b in _BINARY_BYTES) > len(sample) // 100


def _is_pdf(data: bytes) -> bool:
    """%PDF- first, or after a few bytes of binary junk (never after text: a memo may
    mention "%PDF-1.7")."""
    at = data.find(_PDF_MAGIC, 0, PDF_HEADER_WINDOW)
    if at < 0:
        return False
    before = data[:at]
    return not before.strip(b"\x00\t\n\r\f ") or looks_binary(before)


def detect(data: bytes) -> DetectedType:
    """ "pdf", "docx" or "text"; anything else raises with what the file seems to be."""
    if _is_pdf(data):
        return "pdf"
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data)
    if data.startswith(_OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise DocxEncrypted(
                "The Word document is protected with a password. Remove the password in Word "
                "(File > Info > Protect Document), save, and upload it again."
            )
        raise UnsupportedType(
            f"The file is an old-format Office document (such as .doc). {_SAVE_AS}",
            details={"detected": "an old-format Office document"},
        )
    for magic, what in _KNOWN_BINARY:
        if data.startswith(magic):
            raise UnsupportedType(f"The file is {what}. {_SAVE_AS}", details={"detected": what})
    if data.startswith(_TEXT_BOMS):
        return "text"
    sample = data[:4096]
    if _looks_like_utf16(sample):
        raise NotUtf8(
            "The file looks like UTF-16 text without a byte-order mark. Save it as UTF-8 "
            "and upload it again."
        )
    if looks_binary(sample):
        raise UnsupportedType(
            f"The file is not a document we can read. {_SAVE_AS}", details={"detected": "binary"}
        )
    return "text"
