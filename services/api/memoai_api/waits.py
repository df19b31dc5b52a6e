"""Long waits without holding a thread, and a cap on how many a caller holds.

A long wait (a chat POST waiting for the whole reply, a reply's SSE stream) is
a coroutine on the event loop. Its database reads hop into a small thread pool
of their own, so however many callers wait, the default pool stays free for
the sync routes (a login, a status poll).

The cap counts in this process: with N API processes a caller may hold N times
`api_settings.max_waits_per_caller`.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from memoai.platform.errors import RateLimited

T = TypeVar("T")

# Reads are a few milliseconds each; two threads serve hundreds a second and
# keep waiting callers from crowding the routes' own pool.
POLL_THREADS = anyio.CapacityLimiter(2)
# A slot that was never released (a response that was never sent) is
# forgotten this long after its wait could have ended at the latest.
GRACE_SECONDS = 60.0
RETRY_AFTER_SECONDS = 2


async def hop(func: Callable[..., T], *args: Any) -> T:
    """Run one short blocking read in the waits' own threads."""
    return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=POLL_THREADS)


class Slot:
    def __init__(self, slots: WaitSlots, key: str, ident: int) -> None:
        self._slots, self._key, self._ident = slots, key, ident

    def release(self) -> None:
        """Idempotent: a slot may be released by both a finally and a close."""
        self._slots.release(self._key, self._ident)


class WaitSlots:
    """Long waits in progress per caller, in this process."""

    def __init__(self) -> None:
        self._held: dict[str, dict[int, float]] = {}  # caller → slot id → expiry
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def acquire(self, key: str, cap: int, longest: float) -> Slot | None:
        """A slot for a wait of at most `longest` seconds, or None at the cap."""
        now = time.monotonic()
        with self._lock:
            held = {i: t for i, t in self._held.get(key, {}).items() if t > now}
            if len(held) >= cap:
                self._held[key] = held
                return None
            ident = next(self._ids)
            held[ident] = now + longest + GRACE_SECONDS
            self._held[key] = held
            return Slot(self, key, ident)

    def release(self, key: str, ident: int) -> None:
        with self._lock:
            held = self._held.get(key)
            if held is not None:
                held.pop(ident, None)
                if not held:
                    del self._held[key]

    def held(self, key: str) -> int:
        with self._lock:
            return len(self._held.get(key, {}))


SLOTS = WaitSlots()


def too_many_waits(cap: int) -> RateLimited:
    retry = str(RETRY_AFTER_SECONDS)
    return RateLimited(
        f"You already have {cap} replies being waited for or streamed; close one or try "
        "again shortly.",
        code="too_many_waits",
        details={"limit": cap},
        headers={
            "Retry-After": retry,
            "X-RateLimit-Limit": str(cap),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": retry,
        },
    )


class SlotStreamingResponse(StreamingResponse):
    """A stream that gives its wait slot back however it ends (done, timeout, disconnect)."""

    def __init__(self, *args: Any, slot: Slot, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()


def prefers_async(values: list[str] | None) -> bool:
    """RFC 7240 `Prefer: respond-async`, in any of several headers or comma lists."""
    for value in values or ():
        for item in value.split(","):
            name = item.split(";", 1)[0].split("=", 1)[0].strip().lower()
            if name == "respond-async":
                return True
    return False
