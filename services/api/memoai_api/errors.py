"""The one place errors become responses: everything renders as the envelope."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from memoai.platform.errors import MemoError
from memoai_api.envelope import error_response

log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _field(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    @app.exception_handler(MemoError)
    async def _memo_error(_request: Request, exc: MemoError) -> JSONResponse:
        return error_response(exc.status, exc.as_errors(), exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, Any]] = []
        status = 422
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                status = 400
                errors.append(
                    {"code": "malformed_json", "message": "The request body is not valid JSON."}
                )
                continue
            item: dict[str, Any] = {
                "code": "validation_error",
                "message": str(err.get("msg", "Invalid value")),
            }
            field = _field(tuple(err.get("loc", ())))
            if field:
                item["field"] = field
            errors.append(item)
        return error_response(status, errors[:20])

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, [{"code": code, "message": message}], headers)

    @app.exception_handler(OperationalError)
    async def _database_down(_request: Request, exc: OperationalError) -> JSONResponse:
        # The database is restarting or unreachable: tell clients to come back
        # rather than reporting a bug.
        log.warning("api.database_unavailable", error=type(exc.orig).__name__)
        return error_response(
            503,
            [
                {
                    "code": "service_unavailable",
                    "message": "The database is temporarily unavailable; retry shortly.",
                }
            ],
            {"Retry-After": "2"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("api.unhandled_error", error_type=type(exc).__name__)
        return error_response(
            500,
            [{"code": "internal_error", "message": "Something went wrong on our side."}],
        )
