"""Pure ASGI middleware shared by the api and web services: request id, body size
limit, access log and metrics.

Written as raw ASGI rather than BaseHTTPMiddleware: it runs on every request
(including status polls), and this keeps it cheap and streaming-safe.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from random import getrandbits as _rand
from typing import Any

import structlog
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memoai.platform import metrics

log = structlog.get_logger("memoai_api.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class _BodyTooLarge(StarletteHTTPException):
    """An HTTPException so FastAPI's body parser re-raises it (as 413) instead of a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit:,} bytes.")


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_body: int,
        body_limits: Mapping[str, int] | None = None,
        access_log: bool = True,
    ) -> None:
        self.app = app
        self.service = service
        self.max_body = max_body
        # Exact paths with their own limit (document uploads), instead of max_body.
        self.body_limits = dict(body_limits or {})
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        # Not a secret, so no need for the OS entropy pool (uuid4 shows in profiles).
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else f"{_rand(128):032x}"
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        declared = headers.get(b"content-length")
        limit = self.body_limits.get(scope["path"], self.max_body)
        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise _BodyTooLarge(limit)
            await self.app(scope, self._limited(receive, limit), send_wrapper)
        except _BodyTooLarge:
            if not response_started:
                status = 413
                await self._too_large(send, request_id, limit)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
            metrics.HTTP_LATENCY.labels(self.service, method, template).observe(elapsed)
            if self.access_log and template not in ("/metrics", "/health"):
                log.info(
                    "http.request",
                    method=method,
                    path=scope["path"],
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )

    def _limited(self, receive: Receive, limit: int) -> Receive:
        received = 0

        async def wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        return wrapper

    async def _too_large(self, send: Send, request_id: str, limit: int) -> None:
        body = json.dumps(
            {
                "data": None,
                "meta": {"timestamp": datetime.now(UTC).isoformat(), "request_id": request_id},
                "errors": [
                    {
                        "code": "payload_too_large",
                        "message": f"The request body exceeds {limit:,} bytes.",
                    }
                ],
            }
        ).encode()
        start: dict[str, Any] = {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode("latin-1")),
                (b"connection", b"close"),
            ],
        }
        await send(start)
        await send({"type": "http.response.body", "body": body})
