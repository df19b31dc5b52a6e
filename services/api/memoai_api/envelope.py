"""The response envelope: `{"data", "meta": {"timestamp", "request_id"}, "errors"}`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import structlog
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

T = TypeVar("T")


class Meta(BaseModel):
    timestamp: datetime
    request_id: str | None


class ErrorItem(BaseModel):
    code: str = Field(examples=["validation_error"])
    message: str = Field(examples=["The memo is empty."])
    field: str | None = Field(default=None, examples=["text_content"])
    details: dict[str, Any] | None = None


class Envelope(BaseModel, Generic[T]):
    data: T | None
    meta: Meta
    errors: list[ErrorItem] = []


class ErrorEnvelope(BaseModel):
    data: None = None
    meta: Meta
    errors: list[ErrorItem]


def request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def meta() -> Meta:
    return Meta(timestamp=datetime.now(UTC), request_id=request_id())


def ok(data: T) -> Envelope[T]:
    return Envelope[T](data=data, meta=meta(), errors=[])


def error_response(
    status: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"data": None, "meta": meta().model_dump(mode="json"), "errors": errors}
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)
