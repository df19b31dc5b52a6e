"""Retries, deadlines, the circuit breaker and the LLM rate limiter, without I/O."""

from __future__ import annotations

import time

import pytest

from memoai.llm.base import (
    LlmAuthError,
    LlmBadRequest,
    LlmRateLimited,
    LlmTimeout,
    LlmUnavailable,
    should_retry_header,
)
from memoai.llm.circuit import CircuitBreaker
from memoai.llm.ratelimit import LlmRateLimiter
from memoai.llm.retry import RetryPolicy, call_with_retries, deadline


class Script:
    """A fake provider call that raises the scripted errors, then returns 'ok'."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def run(fn: Script, policy: RetryPolicy, sleeps: list[float]) -> str:
    return call_with_retries(fn, policy, "test", "m", sleep=sleeps.append)


def test_transient_errors_are_retried_with_growing_jittered_backoff() -> None:
    sleeps: list[float] = []
    fn = Script(LlmUnavailable("529"), LlmUnavailable("529"), LlmTimeout("t"))
    assert run(fn, RetryPolicy(attempts=3, base_delay=1.0), sleeps) == "ok"
    assert fn.calls == 4
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0 and 2.0 <= sleeps[2] <= 4.0


def test_retry_after_is_honoured() -> None:
    sleeps: list[float] = []
    run(Script(LlmRateLimited("429", retry_after=7)), RetryPolicy(base_delay=0.1), sleeps)
    assert 7 <= sleeps[0] <= 7.1


def test_permanent_errors_are_not_retried() -> None:
    fn = Script(LlmAuthError("401"))
    with pytest.raises(LlmAuthError):
        run(fn, RetryPolicy(), [])
    assert fn.calls == 1


def test_attempts_are_bounded() -> None:
    fn = Script(*[LlmUnavailable("500")] * 10)
    with pytest.raises(LlmUnavailable):
        run(fn, RetryPolicy(attempts=2, base_delay=0.01), [])
    assert fn.calls == 3


def test_a_wait_past_the_deadline_fails_now_with_the_real_reason() -> None:
    fn = Script(LlmRateLimited("429", retry_after=30))
    with deadline(5), pytest.raises(LlmRateLimited):
        run(fn, RetryPolicy(), [])
    assert fn.calls == 1


def test_an_exhausted_deadline_stops_before_calling() -> None:
    fn = Script()
    with deadline(-1), pytest.raises(LlmTimeout):
        run(fn, RetryPolicy(), [])
    assert fn.calls == 0


def test_breaker_opens_after_consecutive_failures_and_recovers() -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=0.2)
    policy = RetryPolicy(attempts=0, breaker=breaker)
    for _ in range(2):
        with pytest.raises(LlmUnavailable):
            run(Script(LlmUnavailable("529")), policy, [])
    assert breaker.state == "open"
    # Open and no time to wait: fail at once without calling the provider.
    idle = Script()
    with deadline(0.1), pytest.raises(LlmUnavailable, match="failing repeatedly"):
        run(idle, policy, [])
    assert idle.calls == 0
    time.sleep(0.25)
    assert breaker.state == "half_open"
    assert run(Script(), policy, []) == "ok"
    assert breaker.state == "closed"


def test_breaker_waits_for_the_cooldown_when_the_deadline_allows() -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=0.3)
    policy = RetryPolicy(attempts=0, breaker=breaker)
    with pytest.raises(LlmUnavailable):
        run(Script(LlmUnavailable("529")), policy, [])
    with deadline(5):
        assert call_with_retries(Script(), policy, "t", "m") == "ok"


def test_bad_requests_do_not_open_the_breaker() -> None:
    breaker = CircuitBreaker(threshold=1, cooldown=60)
    with pytest.raises(LlmAuthError):
        run(Script(LlmAuthError("401")), RetryPolicy(breaker=breaker), [])
    assert breaker.state == "closed"


def test_rate_limiter_spaces_calls_within_the_deadline() -> None:
    limiter = LlmRateLimiter(per_minute=2, redis_url=None, key_prefix="t")
    waits: list[float] = []
    limiter.acquire("k", lambda: None, waits.append)
    limiter.acquire("k", lambda: None, waits.append)
    assert waits == []
    with pytest.raises(LlmRateLimited):
        limiter.acquire("k", lambda: 5.0, waits.append)  # the window resets in ~60 s


def test_x_should_retry_false_forbids_a_retry_whatever_the_status() -> None:
    fn = Script(LlmUnavailable("500", should_retry=False))
    with pytest.raises(LlmUnavailable):
        run(fn, RetryPolicy(base_delay=0.01), [])
    assert fn.calls == 1


def test_x_should_retry_true_forces_a_retry_whatever_the_status() -> None:
    fn = Script(LlmBadRequest("400", should_retry=True), LlmAuthError("401", should_retry=True))
    assert run(fn, RetryPolicy(base_delay=0.01), []) == "ok"
    assert fn.calls == 3


@pytest.mark.parametrize(
    ("value", "verdict"),
    [("true", True), ("false", False), (" TRUE ", True), ("maybe", None), (None, None)],
)
def test_x_should_retry_header_is_read_like_the_sdks_read_it(
    value: str | None, verdict: bool | None
) -> None:
    headers = {} if value is None else {"x-should-retry": value}
    assert should_retry_header(headers) is verdict
