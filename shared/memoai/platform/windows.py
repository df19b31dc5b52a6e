"""Exact moving-window counters in this process's memory (the rate limiter without Redis).

The same semantics as the `limits` library's moving window (an event counts
for `expiry` seconds after it happened; a refused event is not counted), but
a deque per key: counting drops expired events from the old end, so a hit
costs O(1) amortised. `limits`' MemoryStorage inserts at the front of a list
(O(n) in the events of the window) and starts a timer thread to expire
events every few hits, which showed in the API's profile at a high limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque

# Keys whose newest event expired are dropped at most this often.
SWEEP_SECONDS = 60.0


class MovingWindows:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, tuple[float, deque[float]]] = {}
        self._next_sweep = time.time() + SWEEP_SECONDS

    def _window(self, key: str, expiry: float, now: float) -> deque[float]:
        found = self._events.get(key)
        if found is None:
            events: deque[float] = deque()
            self._events[key] = (expiry, events)
            return events
        events = found[1]
        cutoff = now - expiry
        while events and events[0] < cutoff:
            events.popleft()
        return events

    def hit(
        self, key: str, limit: int, expiry: float, cost: int = 1, *, count: bool = True
    ) -> tuple[bool, int, float]:
        """(allowed, events in the window, time of the oldest) after counting `cost` events.

        With count=False nothing is counted: would `cost` more be allowed?
        """
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            events = self._window(key, expiry, now)
            allowed = len(events) + cost <= limit
            if allowed and count:
                events.extend([now] * cost)
            oldest = events[0] if events else now
            return allowed, len(events), oldest

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_SECONDS
        stale = [k for k, (expiry, ev) in self._events.items() if not ev or ev[-1] < now - expiry]
        for key in stale:
            del self._events[key]
