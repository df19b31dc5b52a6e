"""Retries with exponential backoff and full jitter, bounded by a deadline.

The deadline comes from a context variable the caller sets for a whole
evaluation, so retries and `retry-after` waits never outlive the task.
"""

from __future__ import annotations

import contextvars
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import structlog

from memoai.llm.base import LlmCircuitOpen, LlmError, LlmTimeout, LlmUnavailable
from memoai.platform import metrics

if TYPE_CHECKING:
    from memoai.llm.circuit import CircuitBreaker
    from memoai.llm.ratelimit import LlmRateLimiter

T = TypeVar("T")
log = structlog.get_logger(__name__)

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "llm_deadline", default=None
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # retries after the first try
    base_delay: float = 1.0
    max_delay: float = 20.0
    breaker: CircuitBreaker | None = None
    rate_limiter: LlmRateLimiter | None = None
    rate_key: str = "llm"


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every LLM call inside this block must finish within ``seconds``."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    provider: str,
    model: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    attempt = 0
    while True:
        left = remaining()
        if left is not None and left <= 0:
            raise LlmTimeout("the evaluation ran out of time waiting for the model")
        if policy.breaker is not None:
            try:
                policy.breaker.before_call()
            except LlmCircuitOpen as exc:
                # Wait for the breaker (it does not count as an attempt) while the
                # deadline allows; otherwise fail with the provider's state.
                metrics.LLM_REQUESTS.labels(provider, model, "circuit_open").inc()
                wait = exc.retry_after if exc.retry_after is not None else 0.5
                left = remaining()
                if left is None or wait >= left:
                    raise LlmUnavailable(
                        f"the AI provider is failing repeatedly ({exc.message})",
                        retry_after=exc.retry_after,
                    ) from exc
                sleep(max(0.05, wait))
                continue
        if policy.rate_limiter is not None:
            policy.rate_limiter.acquire(policy.rate_key, remaining, sleep)
        started = time.monotonic()
        try:
            result = fn()
        except LlmError as exc:
            metrics.LLM_REQUESTS.labels(provider, model, exc.code.removeprefix("llm_")).inc()
            metrics.LLM_LATENCY.labels(provider, model).observe(time.monotonic() - started)
            if policy.breaker is not None:
                if exc.retryable:
                    policy.breaker.record_failure()
                else:
                    # A bad request or key says nothing about the provider's health.
                    policy.breaker.record_success()
            # `x-should-retry` from the server, when sent, decides over the status.
            if not exc.retry or attempt >= policy.attempts:
                log.warning(
                    "llm.call_failed",
                    provider=provider,
                    model=model,
                    error_code=exc.code,
                    error=exc.message,
                    attempt=attempt + 1,
                    **({} if exc.should_retry is None else {"x_should_retry": exc.should_retry}),
                )
                raise
            delay = _delay(policy, attempt, exc.retry_after)
            left = remaining()
            if left is not None and delay >= left:
                log.warning(
                    "llm.call_failed",
                    provider=provider,
                    model=model,
                    error_code=exc.code,
                    error=exc.message,
                    attempt=attempt + 1,
                    reason="no time left to retry",
                )
                raise  # waiting would pass the deadline: fail now with the real reason
            log.info(
                "llm.retrying",
                provider=provider,
                model=model,
                error_code=exc.code,
                error=exc.message,
                attempt=attempt + 1,
                delay=round(delay, 2),
                **({} if exc.should_retry is None else {"x_should_retry": exc.should_retry}),
            )
            attempt += 1
            sleep(delay)
            continue
        if policy.breaker is not None:
            policy.breaker.record_success()
        metrics.LLM_REQUESTS.labels(provider, model, "ok").inc()
        metrics.LLM_LATENCY.labels(provider, model).observe(time.monotonic() - started)
        return result


def _delay(policy: RetryPolicy, attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        # The server said when; add a little jitter so workers do not return together.
        return retry_after + random.uniform(0, min(1.0, policy.base_delay))
    ceiling = min(policy.max_delay, policy.base_delay * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)
