"""Relay a chat reply from the worker to the browser as it is written.

With Redis, the worker appends pieces to a Redis stream (XADD) and the API
reads them with XREAD, so a browser that connects late still gets every piece
from the start. Without Redis, the worker writes the text so far into the
message row a few times a second and the API sends what is new.

Both API sides (`events` for the SSE stream, `wait_final` for a POST that
waits for the whole reply) are coroutines: they wait on the event loop
(asyncio.sleep, or XREAD BLOCK on an async Redis client) and never hold a
thread; the database is read through a callable the API gives them, a short
hop into a thread each time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ReplyState:
    status: str  # pending | streaming | completed | failed
    content: str
    error: str | None
    error_code: str | None

    @property
    def final(self) -> bool:
        return self.status in ("completed", "failed")


StateReader = Callable[[], Awaitable[ReplyState]]
IDLE_CHECK_SECONDS = 1.0


async def wait_final(
    settings: Settings, read: StateReader, message_id: str, timeout: float
) -> ReplyState:
    """API side: the reply once it is final, or as it stands when `timeout` runs out."""
    deadline = time.monotonic() + timeout
    if settings.redis_url:
        from redis.exceptions import RedisError

        try:
            return await _final_from_redis(settings, read, message_id, deadline)
        except (RedisError, OSError) as exc:
            # The relay is best effort; the database still says when the reply is done.
            log.warning("chat.wait_relay_failed", error=type(exc).__name__)
    return await _final_from_database(read, deadline)


async def _final_from_database(read: StateReader, deadline: float) -> ReplyState:
    delay = 0.05
    while True:
        state = await read()
        left = deadline - time.monotonic()
        if state.final or left <= 0:
            return state
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 1.5, 0.3)


async def _final_from_redis(
    settings: Settings, read: StateReader, message_id: str, deadline: float
) -> ReplyState:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.redis_url or "", socket_timeout=5)
    key = stream_key(settings, message_id)
    last_id = "0"
    try:
        state = await read()
        checked = time.monotonic()
        while not state.final and (left := deadline - time.monotonic()) > 0:
            block_ms = max(1, int(min(left, IDLE_CHECK_SECONDS) * 1000))
            entries: Any = await client.xread({key: last_id}, block=block_ms, count=100)
            done = False
            for _stream, items in entries or []:
                for entry_id, fields in items:
                    last_id = entry_id
                    done = done or b"done" in fields
            # The database has the final word, and is read when the stream is
            # idle too: a reply failed by the sweeper (its worker died) never
            # gets a done marker, and the stream expires.
            if done or not entries or time.monotonic() - checked >= IDLE_CHECK_SECONDS:
                state = await read()
                checked = time.monotonic()
        return state
    finally:
        await client.aclose()
