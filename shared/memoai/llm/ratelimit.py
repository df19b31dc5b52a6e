"""A global LLM request rate shared by every worker (Redis) or process (memory).

Bursts of submissions would otherwise turn into provider 429s. Each call takes
a slot in a moving one-minute window; without a slot it waits, but never past
the evaluation's deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from memoai.llm.base import LlmRateLimited


class LlmRateLimiter:
    def __init__(self, per_minute: int, redis_url: str | None, key_prefix: str) -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        storage: Storage = (
            RedisStorage(redis_url, key_prefix=f"{key_prefix}:llm-rate")
            if redis_url
            else MemoryStorage()
        )
        self.limiter = MovingWindowRateLimiter(storage)

    def acquire(
        self,
        key: str,
        remaining: Callable[[], float | None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        while not self.limiter.hit(self.item, key):
            stats = self.limiter.get_window_stats(self.item, key)
            wait = max(0.05, stats.reset_time - time.time())
            left = remaining()
            if left is not None and wait >= left:
                raise LlmRateLimited(
                    f"the configured LLM rate ({self.item.amount}/min) is exhausted",
                    retry_after=wait,
                )
            sleep(min(wait, 1.0))


_limiters: dict[tuple[int, str | None, str], LlmRateLimiter] = {}
_lock = threading.Lock()


def limiter(per_minute: int, redis_url: str | None, key_prefix: str) -> LlmRateLimiter:
    key = (per_minute, redis_url, key_prefix)
    with _lock:
        found = _limiters.get(key)
        if found is None:
            found = LlmRateLimiter(per_minute, redis_url, key_prefix)
            _limiters[key] = found
        return found
