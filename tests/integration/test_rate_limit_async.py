"""The API's per-request limits await Redis on the event loop (enforce_async).

They must count in the same windows as the sync storage the rest of the code
uses (a batch's submissions, across processes and versions), refuse at the
same count with the same decision, and fail open as fast when Redis is gone.
Real Redis, real event loops.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path

import pytest

from memoai.config import load_settings
from memoai.platform.errors import RateLimited
from memoai.platform.ratelimit import Decision, RateLimiter, Scope
from tests.integration.conftest import REPO
from tests.support import aio
from tests.support.services import delete_redis_prefix, free_port, redis_url

pytestmark = [pytest.mark.integration, pytest.mark.redis]


def _limiter(tmp_path: Path, redis: str, prefix: str, **env: str) -> RateLimiter:
    shutil.copytree(REPO / "config", tmp_path / "config", dirs_exist_ok=True)
    environ = {
        "CONFIG_DIR": str(tmp_path / "config"),
        "DATA_DIR": str(tmp_path / "data"),
        "REDIS_URL": redis,
        "REDIS_KEY_PREFIX": prefix,
        "RATE_LIMIT_IP_MULTIPLIER": "2",
        **env,
    }
    limiter = RateLimiter(load_settings(environ))
    assert limiter.backend == "redis" and not limiter.in_memory
    return limiter


def test_async_and_sync_counts_share_one_window_and_refuse_alike(tmp_path: Path) -> None:
    prefix = f"memoai-test-{uuid.uuid4().hex[:8]}"
    limiter = _limiter(tmp_path, redis_url(), prefix, SUBMISSIONS_PER_HOUR="5")
    try:
        # Two sync submissions (a batch of two), then async ones from two loops.
        limiter.enforce(Scope.SUBMISSIONS, caller="alice", ip="10.0.0.1", cost=2)

        async def submit() -> Decision:
            return await limiter.enforce_async(Scope.SUBMISSIONS, caller="alice", ip="10.0.0.1")

        first = aio.run(submit())
        assert (first.allowed, first.limit, first.remaining) == (True, 5, 2)
        assert aio.run_uvloop(submit()).remaining == 1
        assert aio.run(submit()).remaining == 0
        with pytest.raises(RateLimited) as refused:
            aio.run(submit())
        assert refused.value.details == {"scope": "submissions", "limit": 5}
        assert int(refused.value.headers["Retry-After"]) >= 1
        # The sync path sees the async counts: alice is full, the IP (x2) is not;
        # it counted the refused try too (its limit was checked first): 7 of 10.
        with pytest.raises(RateLimited):
            limiter.enforce(Scope.SUBMISSIONS, caller="alice", ip=None)
        bob = limiter.enforce(Scope.SUBMISSIONS, caller="bob", ip="10.0.0.1")
        assert bob.allowed and bob.remaining == 3  # the IP's 3 left, tighter than bob's 4
    finally:
        delete_redis_prefix(prefix)


def test_an_unreachable_redis_fails_open_without_stalling_the_loop(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    limiter = _limiter(tmp_path, dead, "memoai-test-dead", RATE_LIMIT_PER_MINUTE="1")

    async def main() -> tuple[list[Decision], float]:
        started = time.monotonic()
        ticks = 0

        async def ticker() -> None:  # the loop stays free while the limiter waits
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(ticker())
        decisions = [
            await limiter.enforce_async(Scope.REQUESTS, caller="alice", ip="10.0.0.1")
            for _ in range(3)
        ]
        beat.cancel()
        assert ticks >= 1
        return decisions, time.monotonic() - started

    decisions, elapsed = aio.run_uvloop(main())
    assert all(d.allowed for d in decisions)  # over the limit of 1, yet allowed: fail open
    assert elapsed < 5
