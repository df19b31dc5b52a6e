"""Bulk evaluation: submit many memos as a batch, follow it, export the results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Header, Path, Query, Request, Response

from memoai.batches import archive, service
from memoai.platform.db import session_scope
from memoai.platform.errors import UnsupportedMediaType
from memoai_api.deps import (
    JsonBody,
    LimiterDep,
    PrincipalDep,
    SettingsDep,
    count_submissions,
)
from memoai_api.envelope import Envelope, ErrorEnvelope, ok, request_id
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/batches", tags=["batches"])
BatchId = Annotated[str, Path(max_length=64)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "No valid session or token"},
    404: {"model": ErrorEnvelope, "description": "Not found, or not yours"},
}


@router.post(
    "",
    status_code=202,
    response_model=Envelope[service.BatchCreated],
    dependencies=[JsonBody],
    responses={
        **ERRORS,
        409: {"model": ErrorEnvelope, "description": "Key reused"},
        422: {"model": ErrorEnvelope, "description": "An item is invalid"},
    },
)
def create_batch(
    body: service.BatchCreate,
    principal: PrincipalDep,
    settings: SettingsDep,
    request: Request,
    response: Response,
    limiter: LimiterDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Envelope[service.BatchCreated]:
    """Queue up to 200 memos at once; every item is validated before any is stored."""
    # Each memo counts against submissions_per_hour, or a batch would bypass it.
    count_submissions(request, response, principal, limiter, len(body.items))
    created, replayed = service.create_idempotent(
        settings, principal, body, request_id(), idempotency_key
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ok(created)


ZIP_TYPES = frozenset(
    {"application/zip", "application/x-zip-compressed", "application/octet-stream"}
)


@router.post(
    "/unzip",
    response_model=Envelope[archive.ArchiveContents],
    responses={
        **ERRORS,
        413: {"model": ErrorEnvelope, "description": "Upload or its contents too large"},
        415: {"model": ErrorEnvelope, "description": "Body is not a zip"},
        422: {"model": ErrorEnvelope, "description": "Not a readable zip, or too many entries"},
    },
    # Declared as octet-stream (which generic clients and fuzzers can send);
    # application/zip and application/x-zip-compressed are accepted too.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def unzip(
    request: Request, principal: PrincipalDep, settings: SettingsDep
) -> Envelope[archive.ArchiveContents]:
    """Read the .txt/.md memos of a zip (the raw request body); nothing is stored."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in ZIP_TYPES:
        raise UnsupportedMediaType(
            "Send the zip as the request body with Content-Type: application/zip.",
            details={"content_type": media_type or None},
        )
    data = await request.body()  # bounded by max_request_size in the ASGI middleware
    limit = settings.security.input_validation.max_text_length
    # Decompression is CPU work: off the event loop.
    contents = await anyio.to_thread.run_sync(archive.extract, data, limit)
    return ok(contents)


@router.get("", response_model=Envelope[list[service.BatchSummary]], responses=ERRORS)
def list_batches(
    principal: PrincipalDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> Envelope[list[service.BatchSummary]]:
    """Your batches, newest first."""
    with session_scope(write=False) as db:
        return ok(service.list_batches(db, principal, limit))


@router.get("/{batch_id}", response_model=Envelope[service.BatchStatus], responses=ERRORS)
def batch_status(
    batch_id: BatchId, principal: PrincipalDep, settings: SettingsDep
) -> Envelope[service.BatchStatus]:
    """Progress across the batch's items and each item's state."""
    with session_scope(write=False) as db:
        return ok(service.status(db, settings, principal, batch_id))


@router.get(
    "/{batch_id}/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}, **ERRORS},
)
def export_batch(
    batch_id: BatchId,
    principal: PrincipalDep,
    format: Literal["csv", "json"] = "csv",
) -> Response:
    """The results, one row (CSV) or object (JSON) per memo."""
    with session_scope(write=False) as db:
        content, media_type = service.export(db, principal, batch_id, format)
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id[:8]}.{format}"'},
    )
