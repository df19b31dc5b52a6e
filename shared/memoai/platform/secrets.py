"""The registered secret values of this process: never in a log line, never in a response.

Configuration secrets (API keys, the JWT key, the database and Redis passwords,
the webhook signing secret, the bootstrap admin password) are registered when a
process loads its settings; generated ones (the development JWT key) when they
are created. Logging scrubs them (`platform.logging`), and the API's
`SecretRedactionMiddleware` takes them out of every JSON response, whatever
route or bug put them there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memoai.config import Settings

log = structlog.get_logger(__name__)

MARKER = "[redacted]"
# Shorter values would redact ordinary words; the production start-up check
# requires every secret to be far longer than this.
MIN_LENGTH = 8

_lock = threading.Lock()
_values: frozenset[str] = frozenset()
# Longest first: a password inside a registered URL is replaced after the URL.
_ordered: tuple[str, ...] = ()
_encoded: tuple[tuple[bytes, bytes], ...] = ()


def register(value: str | None) -> None:
    """Treat this exact value (and its JSON-escaped form) as a secret from now on."""
    global _values, _ordered, _encoded
    if not value or len(value) < MIN_LENGTH:
        return
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    with _lock:
        if forms <= _values:
            return
        values = _values | forms
        _ordered = tuple(sorted(values, key=len, reverse=True))
        _encoded = tuple((v.encode("utf-8"), MARKER.encode()) for v in _ordered)
        _values = frozenset(values)


def register_all(values: Iterable[str | None]) -> None:
    for value in values:
        register(value)


def register_settings(settings: Settings) -> None:
    register_all(settings.secret_values())


def registered() -> frozenset[str]:
    return _values


def redact(text: str) -> str:
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, MARKER)
    return text


def redact_bytes(body: bytes) -> tuple[bytes, int]:
    """(body without any registered secret, how many were replaced)."""
    found = 0
    for secret, marker in _encoded:
        if secret in body:
            found += body.count(secret)
            body = body.replace(secret, marker)
    return body, found


class SecretRedactionMiddleware:
    """Replace registered secrets in JSON response bodies (pure ASGI).

    A last line of defence: configuration may not interpolate secrets into
    content that is served, but a response must not carry one even if some path
    (a future route, an echoed error, an operator's literal value) lets it through.
    Only JSON is buffered; streams (server-sent events, PDFs, zips) pass untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _encoded:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if _is_json(message):
                    start = message
                    return
                await send(message)
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body, found = redact_bytes(b"".join(chunks))
                if found:
                    log.warning("response.secret_redacted", path=scope.get("path"), count=found)
                headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, wrapped)


def _is_json(message: Message) -> bool:
    for key, value in message.get("headers", []):
        if key.lower() == b"content-type":
            media: Any = value.split(b";", 1)[0].strip().lower()
            return bool(media == b"application/json" or media.endswith(b"+json"))
    return False
