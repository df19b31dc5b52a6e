"""The in-memory moving window of the rate limiter (memoai.platform.windows)."""

from __future__ import annotations

import pytest

from memoai.platform import windows
from memoai.platform.windows import MovingWindows


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(windows.time, "time", lambda: now[0])
    return now


def test_counts_up_to_the_limit_and_refusals_are_not_counted(clock: list[float]) -> None:
    w = MovingWindows()
    assert [w.hit("k", 3, 60)[0] for _ in range(3)] == [True, True, True]
    assert w.hit("k", 3, 60) == (False, 3, 1000.0)
    clock[0] += 30
    assert w.hit("k", 3, 60) == (False, 3, 1000.0)  # the refusal above took no slot
    assert w.hit("other", 3, 60)[0] is True


def test_events_leave_the_window_after_expiry(clock: list[float]) -> None:
    w = MovingWindows()
    w.hit("k", 2, 60)
    clock[0] += 10
    w.hit("k", 2, 60)
    clock[0] += 50  # the first event is exactly 60 s old: still inside, as in `limits`
    assert w.hit("k", 2, 60)[0] is False
    clock[0] += 1
    assert w.hit("k", 2, 60) == (True, 2, 1010.0)


def test_cost_peek_and_clear(clock: list[float]) -> None:
    w = MovingWindows()
    assert w.hit("k", 5, 60, cost=4) == (True, 4, 1000.0)
    assert w.hit("k", 5, 60, cost=2)[0] is False
    assert w.hit("k", 5, 60, count=False) == (True, 4, 1000.0)
    assert w.hit("k", 5, 60, cost=6)[0] is False
    w.clear("k")
    assert w.hit("k", 5, 60, count=False) == (True, 0, 1000.0)


def test_idle_keys_are_swept(clock: list[float]) -> None:
    w = MovingWindows()
    w.hit("old", 5, 60)
    clock[0] += windows.SWEEP_SECONDS + 61
    w.hit("new", 5, 60)
    assert set(w._events) == {"new"}
