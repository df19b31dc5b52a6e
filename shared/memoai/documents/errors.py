"""Why an upload was refused: one error class per code, all rendered by the API's handler.

Every refusal is a 4xx with a stable `code` the web UI translates and the
`field` "file"; `details` carries the numbers a client may show (sizes, limits,
pages). `ERRORS` maps a code back to its class, so an error raised in the
extraction process can be raised again, unchanged, in the caller.
"""

from __future__ import annotations

from typing import Any, ClassVar

from memoai.platform.errors import MemoError

FIELD = "file"


class DocumentError(MemoError):
    status: ClassVar[int] = 422
    code: ClassVar[str] = "document_invalid"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, field=FIELD, details=details)


class FileTooLarge(DocumentError):
    status = 413
    code = "file_too_large"


class UnsupportedType(DocumentError):
    status = 415
    code = "unsupported_type"


class EmptyDocument(DocumentError):
    code = "empty_document"


class NotUtf8(DocumentError):
    code = "not_utf8"


class TextTooLong(DocumentError):
    code = "text_too_long"


class PdfEncrypted(DocumentError):
    code = "pdf_encrypted"


class PdfNoText(DocumentError):
    code = "pdf_no_text"


class PdfInvalid(DocumentError):
    code = "pdf_invalid"


class DocxInvalid(DocumentError):
    code = "docx_invalid"


class DocxEncrypted(DocumentError):
    code = "docx_encrypted"


class DocxTooLarge(DocumentError):
    # 413: the archive expands past what we agree to read (a zip bomb or close to one).
    status = 413
    code = "docx_too_large"


class ExtractionTimeout(DocumentError):
    code = "extraction_timeout"


class ExtractionFailed(DocumentError):
    """The extraction process died (memory limit, a crash in a parser)."""

    code = "document_unreadable"


class ExtractionBusy(MemoError):
    """Every extraction slot stayed taken for the whole time budget."""

    status = 503
    code = "extraction_busy"


ERRORS: dict[str, type[DocumentError]] = {
    cls.code: cls
    for cls in (
        DocumentError,
        FileTooLarge,
        UnsupportedType,
        EmptyDocument,
        NotUtf8,
        TextTooLong,
        PdfEncrypted,
        PdfNoText,
        PdfInvalid,
        DocxInvalid,
        DocxEncrypted,
        DocxTooLarge,
        ExtractionTimeout,
        ExtractionFailed,
    )
}
