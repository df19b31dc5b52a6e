"""Relay a chat reply from the worker to the browser as it is written.

With Redis, the worker appends pieces to a Redis stream (XADD) and the API
reads them with XREAD, so a browser that connects late still gets every piece
from the start. Without Redis, the worker writes the text so far into the
message row a few times a second and the API sends what is new.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy import update

from memoai.config import Settings
from memoai.models import ChatMessage
from memoai.platform.db import session_scope

log = structlog.get_logger(__name__)

STREAM_TTL_SECONDS = 600
FLUSH_SECONDS = 0.1


def stream_key(settings: Settings, message_id: str) -> str:
    return f"{settings.backend.queue.key_prefix}:chat:{message_id}"


class ReplySink:
    """Worker side: collects pieces of the reply and publishes them in small batches."""

    def __init__(self, settings: Settings, message_id: str) -> None:
        self.settings = settings
        self.message_id = message_id
        self.text = ""
        self._pending = ""
        self._last_flush = 0.0
        self._redis: Any = None
        if settings.redis_url:
            import redis

            self._redis = redis.Redis.from_url(settings.redis_url, socket_timeout=5)

    def delta(self, piece: str) -> None:
        self.text += piece
        self._pending += piece
        if time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        self._last_flush = time.monotonic()
        try:
            if self._redis is not None:
                key = stream_key(self.settings, self.message_id)
                self._redis.xadd(key, {"t": self._pending})
                self._redis.expire(key, STREAM_TTL_SECONDS)
            else:
                with session_scope() as db:
                    db.execute(
                        update(ChatMessage)
                        .where(ChatMessage.id == self.message_id)
                        .values(content=self.text, status="streaming")
                        .execution_options(synchronize_session=False)
                    )
        except Exception as exc:  # noqa: BLE001 - live relay is best effort; the final text is saved
            log.warning("chat.relay_failed", error=type(exc).__name__)
        self._pending = ""

    def close(self, status: str) -> None:
        """Mark the end of the live stream (call after the final text is saved)."""
        if self._redis is not None:
            try:
                key = stream_key(self.settings, self.message_id)
                self._redis.xadd(key, {"done": status})
                self._redis.expire(key, STREAM_TTL_SECONDS)
            except Exception as exc:  # noqa: BLE001
                log.warning("chat.relay_failed", error=type(exc).__name__)
            finally:
                self._redis.close()


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


RowReader = Callable[[], Awaitable[tuple[str, str, str | None]]]  # (status, content, error)


async def events(
    settings: Settings, message_id: str, read_row: RowReader, timeout: float
) -> AsyncIterator[str]:
    """API side: server-sent events `delta` ({text}) until `done` ({status, content})."""
    deadline = time.monotonic() + timeout
    yield "retry: 2000\n\n"
    if settings.redis_url:
        async for item in _from_redis(settings, message_id, read_row, deadline):
            yield item
    else:
        async for item in _from_database(read_row, deadline):
            yield item


async def _from_database(read_row: RowReader, deadline: float) -> AsyncIterator[str]:
    sent = 0
    while time.monotonic() < deadline:
        status, content, error = await read_row()
        if len(content) > sent:
            yield sse("delta", {"text": content[sent:]})
            sent = len(content)
        if status in ("completed", "failed"):
            yield sse("done", {"status": status, "content": content, "error": error})
            return
        await asyncio.sleep(0.15)
    yield sse("timeout", {"message": "the reply is taking longer than expected"})


async def _from_redis(
    settings: Settings, message_id: str, read_row: RowReader, deadline: float
) -> AsyncIterator[str]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.redis_url or "", socket_timeout=5)
    key = stream_key(settings, message_id)
    last_id = "0"
    sent = ""
    try:
        while time.monotonic() < deadline:
            entries: Any = await client.xread({key: last_id}, block=1000, count=100)
            for _stream, items in entries or []:
                for entry_id, fields in items:
                    last_id = entry_id
                    if b"t" in fields:
                        piece = fields[b"t"].decode()
                        sent += piece
                        yield sse("delta", {"text": piece})
                    if b"done" in fields:
                        status, content, error = await read_row()
                        yield sse("done", {"status": status, "content": content, "error": error})
                        return
            if not entries:
                # The stream may have expired (or the reply finished before we
                # connected): the database has the final word.
                status, content, error = await read_row()
                if status in ("completed", "failed"):
                    if content.startswith(sent) and len(content) > len(sent):
                        yield sse("delta", {"text": content[len(sent) :]})
                    yield sse("done", {"status": status, "content": content, "error": error})
                    return
        yield sse("timeout", {"message": "the reply is taking longer than expected"})
    finally:
        await client.aclose()
