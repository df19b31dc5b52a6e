"""Domain errors. Raised anywhere; only the API's one handler renders them."""

from __future__ import annotations

from typing import Any, ClassVar


class MemoError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details
        self.headers = headers or {}
        if code is not None:
            self.code = code  # type: ignore[misc]

    def as_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.details:
            error["details"] = self.details
        return error

    def as_errors(self) -> list[dict[str, Any]]:
        """Every error item of the envelope (one, unless a subclass has several)."""
        return [self.as_error()]


class ValidationFailed(MemoError):
    status = 422
    code = "validation_error"


class Unauthorized(MemoError):
    status = 401
    code = "unauthorized"


class Forbidden(MemoError):
    status = 403
    code = "forbidden"


class NotFound(MemoError):
    status = 404
    code = "not_found"


class Conflict(MemoError):
    status = 409
    code = "conflict"


class PayloadTooLarge(MemoError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(MemoError):
    status = 415
    code = "unsupported_media_type"


class NotReady(MemoError):
    status = 425
    code = "not_ready"


class RateLimited(MemoError):
    status = 429
    code = "rate_limited"


class ServiceUnavailable(MemoError):
    status = 503
    code = "service_unavailable"
