"""The pieces of the long waits: the Prefer header, the per-caller slots, the DB poll."""

from __future__ import annotations

import time

import pytest

from memoai.coaching.stream import ReplyState, wait_final
from memoai.config import get_settings
from memoai_api import waits
from memoai_api.waits import WaitSlots, prefers_async
from tests.support import aio


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (None, False),
        ([], False),
        (["respond-async"], True),
        (["Respond-Async"], True),  # preference names are case-insensitive (RFC 7240)
        (["return=minimal, respond-async; foo=bar"], True),
        (["return=minimal", "respond-async"], True),  # several Prefer headers
        (["return=minimal"], False),
        (["respond-asynchronously", "x-respond-async"], False),
        (["=,;,;=", "\x00"], False),
    ],
)
def test_prefer_header_asks_for_respond_async(values: list[str] | None, expected: bool) -> None:
    assert prefers_async(values) is expected


def test_a_caller_gets_slots_up_to_the_cap_and_they_come_back_on_release() -> None:
    slots = WaitSlots()
    held = [slots.acquire("user:a", 2, 30) for _ in range(2)]
    assert all(held)
    assert slots.acquire("user:a", 2, 30) is None
    assert slots.acquire("user:b", 2, 30) is not None  # per caller
    first = held[0]
    assert first is not None
    first.release()
    first.release()  # idempotent: the second release does not free another slot
    assert slots.held("user:a") == 1
    assert slots.acquire("user:a", 2, 30) is not None
    assert slots.acquire("user:a", 2, 30) is None


def test_a_slot_never_released_expires_after_its_longest_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slots = WaitSlots()
    monkeypatch.setattr(waits, "GRACE_SECONDS", 0.0)
    assert slots.acquire("session:s", 1, 0.05) is not None
    assert slots.acquire("session:s", 1, 0.05) is None
    time.sleep(0.1)
    assert slots.acquire("session:s", 1, 0.05) is not None


def test_the_database_wait_returns_the_final_reply_or_the_last_state_at_the_deadline() -> None:
    settings = get_settings()
    assert settings.redis_url is None  # unit tests run on the embedded broker
    states = iter(["pending", "streaming", "completed"])

    async def progressing() -> ReplyState:
        return ReplyState(next(states), "text", None, None)

    async def stuck() -> ReplyState:
        return ReplyState("pending", "", None, None)

    done = aio.run(wait_final(settings, progressing, "m1", 5))
    assert done.status == "completed"
    started = time.monotonic()
    late = aio.run(wait_final(settings, stuck, "m2", 0.3))
    assert late.status == "pending"
    assert 0.3 <= time.monotonic() - started < 1.0
