"""Garbage-collector settings for the long-running processes (api, worker, beat).

Measured under `make bench-load` (100 users, 40 s): the API process ran 8 full
(generation 2) collections, each holding the GIL 100–330 ms, so every request
in flight on its event loop waited behind them: they were the status p99. A
full collection walks every tracked object, and most of those are what import
and start-up built (modules, pydantic and SQLAlchemy schemas, configuration)
and never free. `gc.freeze()` once start-up is done moves them to a permanent
generation the collector skips. A larger first threshold makes young
collections rarer: most of a request's garbage is freed by reference counting
before one runs, and fewer survivors are promoted to the older generations.

`GC_THRESHOLDS` overrides the thresholds ("700,10,10" is CPython's default);
`GC_THRESHOLDS=off` leaves the collector as CPython sets it, without freezing.
"""

from __future__ import annotations

import gc
import os

import structlog

log = structlog.get_logger(__name__)

THRESHOLDS = (10_000, 20, 10)


def thresholds(raw: str | None) -> tuple[int, int, int] | None:
    """The thresholds `GC_THRESHOLDS` asks for; None for "off"."""
    if raw is None or not raw.strip():
        return THRESHOLDS
    if raw.strip().lower() == "off":
        return None
    parts = [p.strip() for p in raw.split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 1:
        raise ValueError(
            f"GC_THRESHOLDS must be three positive integers (e.g. 50000,20,10) or off, not {raw!r}"
        )
    return values[0], values[1], values[2]


def tune_after_startup(process: str) -> None:
    """Call once the process has imported and built what it keeps for its life."""
    chosen = thresholds(os.environ.get("GC_THRESHOLDS"))
    if chosen is None:
        return
    gc.collect()  # start-up's own garbage goes now, not into the permanent generation
    gc.freeze()
    gc.set_threshold(*chosen)
    log.info("gc.tuned", process=process, frozen=gc.get_freeze_count(), thresholds=chosen)
