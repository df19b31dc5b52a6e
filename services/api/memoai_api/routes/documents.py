"""Documents: the text of an uploaded .docx, .pdf, .txt or .md, for the writer to confirm."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request

from memoai import documents
from memoai.documents.errors import ExtractionBusy
from memoai.documents.isolation import MAX_PARALLEL
from memoai.documents.schemas import Limits
from memoai.platform.errors import UnsupportedMediaType
from memoai.platform.multipart import file_part
from memoai_api.deps import PrincipalDep, SettingsDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/documents", tags=["documents"])
EXTRACT_PATH = f"{API_PREFIX}/documents/extract"
# Extractions wait for a slot here, in the event loop, and run on threads of
# their own: waiting for a child process must never hold one of the few threads
# of the default pool that every sync route (submits, status polls) needs.
_SLOTS = anyio.CapacityLimiter(MAX_PARALLEL)
_THREADS = anyio.CapacityLimiter(MAX_PARALLEL)


def _examples(*errors: tuple[str, str, dict[str, Any] | None]) -> dict[str, Any]:
    examples = {}
    for code, message, details in errors:
        error: dict[str, Any] = {"code": code, "message": message, "field": "file"}
        if details:
            error["details"] = details
        examples[code] = {
            "value": {
                "data": None,
                "meta": {"timestamp": "2026-12-02T10:00:00Z", "request_id": "5f0c…"},
                "errors": [error],
            }
        }
    return {"application/json": {"examples": examples}}


RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "No valid session or token"},
    413: {
        "model": ErrorEnvelope,
        "description": "The file is over security.input_validation.max_upload_size "
        "(file_too_large; payload_too_large when the whole request is), or a Word "
        "document expands too much (docx_too_large: a zip bomb)",
        "content": _examples(
            (
                "file_too_large",
                "The file is 7.3 MB; the limit is 5.0 MB.",
                {"size": 7654321, "max_size": 5242880},
            ),
            (
                "docx_too_large",
                "A part of the Word document expands more than 100 times its size: it looks "
                "like a zip bomb.",
                {"reason": "ratio", "limit": 100},
            ),
        ),
    },
    415: {
        "model": ErrorEnvelope,
        "description": "Not multipart/form-data (unsupported_media_type), or the file is "
        "not a .docx, .pdf or UTF-8 text by its content (unsupported_type)",
        "content": _examples(
            (
                "unsupported_type",
                "The file is a PNG image. Save it as .docx, .pdf, .txt or .md and upload it again.",
                {"detected": "a PNG image"},
            ),
        ),
    },
    422: {
        "model": ErrorEnvelope,
        "description": "The document cannot be used: pdf_encrypted, pdf_no_text (a scan), "
        "pdf_invalid, docx_invalid, docx_encrypted, text_too_long, not_utf8, "
        "empty_document, extraction_timeout, document_unreadable, bad_upload (no `file` field)",
        "content": _examples(
            (
                "pdf_encrypted",
                "The PDF is protected with a password. Save an unprotected copy and upload that.",
                None,
            ),
            (
                "pdf_no_text",
                "The PDF has no text layer: it is probably a scan or a picture "
                "of text. Export it from the original document, or run text recognition (OCR) "
                "on it first.",
                {"pages": 2},
            ),
            ("docx_invalid", "The Word document is damaged (not a readable zip).", None),
            (
                "text_too_long",
                "The Word document's text is 14,210 characters; the limit is "
                "10,000. Shorten the memo and upload it again.",
                {"length": 14210, "max_length": 10000, "exact": True},
            ),
            (
                "not_utf8",
                "The file is not UTF-8 text (byte 0xE9 at position 112); it may be "
                "Windows-1252 or Latin-1. Save it as UTF-8 (in most editors: Save As, Encoding: "
                "UTF-8) and upload it again.",
                {"position": 112},
            ),
            (
                "extraction_timeout",
                "Reading the document took longer than 10 seconds. If it "
                "is very long or complex, save a shorter copy (or paste the memo's text).",
                {"timeout_seconds": 10},
            ),
        ),
    },
    503: {"model": ErrorEnvelope, "description": "Every extraction slot is busy; retry shortly"},
}


@router.post(
    "/extract",
    response_model=Envelope[documents.Extracted],
    responses=RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    },
)
async def extract(
    request: Request, _principal: PrincipalDep, settings: SettingsDep
) -> Envelope[documents.Extracted]:
    """Extract the text of a .docx, .pdf, .txt or .md upload (form field `file`).

    The type is found from the content, not the name. Nothing is stored: show
    `text` to the writer, then submit it as `text_content` to
    POST /evaluations/submit, so that comment offsets refer to exactly this text.
    """
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise UnsupportedMediaType(
            "Upload the document as multipart/form-data, in the field 'file'.",
            details={"content_type": content_type.split(";", 1)[0].strip() or None},
        )
    body = await request.body()  # bounded in RequestContextMiddleware (Limits.request_body)
    limits = Limits.from_settings(settings)

    def run() -> documents.Extracted:
        upload = file_part(content_type, body, "file")
        return documents.extract_bytes(upload.data, upload.filename, limits)

    with anyio.move_on_after(limits.timeout) as waited:
        await _SLOTS.acquire()
    if waited.cancelled_caught:
        raise ExtractionBusy(
            "Too many documents are being read right now; try again in a moment.",
            headers={"Retry-After": "5"},
        )
    try:
        # Parsing the form and waiting for the extraction process: off the event loop.
        return ok(await anyio.to_thread.run_sync(run, limiter=_THREADS))
    finally:
        _SLOTS.release()
