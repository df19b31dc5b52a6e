"""A circuit breaker per provider and model, per process.

After `threshold` consecutive transient failures the circuit opens: calls fail
at once for `cooldown` seconds instead of adding load to a provider that is
already failing. Then one trial call is let through (half-open); success
closes the circuit, failure opens it again.
"""

from __future__ import annotations

import threading
import time

from memoai.llm.base import LlmCircuitOpen


class CircuitBreaker:
    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if time.monotonic() - self._opened_at >= self.cooldown:
                return "half_open"
            return "open"

    def before_call(self) -> None:
        with self._lock:
            if self._opened_at is None:
                return
            waited = time.monotonic() - self._opened_at
            if waited < self.cooldown:
                raise LlmCircuitOpen(
                    "the AI provider is failing repeatedly; calls are paused for "
                    f"{self.cooldown - waited:.0f} s",
                    retry_after=self.cooldown - waited,
                )
            if self._trial_running:
                raise LlmCircuitOpen(
                    "the AI provider is being tested after failures", retry_after=0.5
                )
            self._trial_running = True

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_running = False
            if self._opened_at is not None or self._failures >= self.threshold:
                self._opened_at = time.monotonic()


_breakers: dict[str, CircuitBreaker] = {}
_lock = threading.Lock()


def breaker(key: str, threshold: int, cooldown: float) -> CircuitBreaker:
    with _lock:
        found = _breakers.get(key)
        if found is None or (found.threshold, found.cooldown) != (threshold, cooldown):
            found = CircuitBreaker(threshold, cooldown)
            _breakers[key] = found
        return found


def reset_breakers() -> None:
    with _lock:
        _breakers.clear()
