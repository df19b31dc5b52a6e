"""The collector settings the services apply after start-up (memoai.platform.gctune)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from memoai.platform import gctune


@pytest.fixture
def restore_gc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    before = gc.get_threshold()
    monkeypatch.setattr(gctune, "_tuned", False)
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, gctune.THRESHOLDS),
        ("", gctune.THRESHOLDS),
        ("700,10,10", (700, 10, 10)),
        (" 20000 , 5 , 5 ", (20000, 5, 5)),
        ("off", None),
        ("OFF", None),
    ],
)
def test_thresholds_come_from_gc_thresholds(
    raw: str | None, expected: tuple[int, int, int] | None
) -> None:
    assert gctune.thresholds(raw) == expected


@pytest.mark.parametrize("raw", ["1,2", "1,2,3,4", "a,b,c", "0,10,10", "-5,10,10", "on"])
def test_a_bad_gc_thresholds_is_refused_with_what_is_expected(raw: str) -> None:
    with pytest.raises(ValueError, match="three positive integers"):
        gctune.thresholds(raw)


def test_tuning_freezes_what_start_up_built_and_sets_the_thresholds(
    restore_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GC_THRESHOLDS", "12345,7,3")
    gc.unfreeze()
    kept = [object() for _ in range(10)]
    gctune.tune_after_startup("test")
    assert gc.get_threshold() == (12345, 7, 3)
    assert gc.get_freeze_count() > len(kept)


def test_off_leaves_the_collector_alone(restore_gc: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_THRESHOLDS", "off")
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    gctune.tune_after_startup("test")
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_only_the_first_call_of_a_process_tunes(
    restore_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GC_THRESHOLDS", "12345,7,3")
    gc.unfreeze()
    gctune.tune_after_startup("first")
    frozen = gc.get_freeze_count()
    monkeypatch.setenv("GC_THRESHOLDS", "700,10,10")
    gctune.tune_after_startup("second")
    assert gc.get_threshold() == (12345, 7, 3)
    # A second freeze would add every object made since the first (this test's
    # own among them); frozen objects that were freed meanwhile leave the
    # count, so it may fall a little but must not grow.
    assert gc.get_freeze_count() <= frozen
