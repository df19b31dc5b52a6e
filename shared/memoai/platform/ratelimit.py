"""Rate limits from security.yaml, shared by every API replica.

Counts live in Redis when REDIS_URL is set (under REDIS_KEY_PREFIX), in the
process otherwise (`backend.rate_limiting.implementation` can force either).
The moving window is exact (the `limits` library's in Redis, the same
semantics in memoai.platform.windows in memory): a burst straddling a window
boundary cannot get twice the limit, which a fixed window would allow.

Each scope is counted per caller (session or user) and per client IP; the IP
limit is the caller limit times `ip_multiplier`, so fresh anonymous sessions
cannot be used to escape a limit.

Without Redis every API process counts on its own: with N processes a client
gets up to N times each limit (the per-account lockout, in the database, still
holds). Production runs Redis, so limits hold across processes and replicas.

In the API the per-request checks await Redis on the event loop
(`enforce_async`, limits' asyncio storage on redis-py's asyncio client, one
per event loop) rather than hopping to a thread: the same keys, scripts and
counts as the sync storage, which the rest (batches, logins) keeps using.

Failed logins use `reserve`: a slot is taken atomically *before* the password
is checked and handed back only if the login succeeds, so concurrent attempts
(across processes too) can never exceed the limit. Checking first and counting
after the ~0.25 s bcrypt check would let a burst of parallel guesses through.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import RedisStorage as AsyncRedisStorage
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
from limits.storage import RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from memoai.config import ConfigError, ConfigProblem, Settings
from memoai.platform import metrics
from memoai.platform.errors import RateLimited
from memoai.platform.windows import MovingWindows

log = structlog.get_logger(__name__)
# A slow Redis must not stall requests; past this the limiter fails open.
REDIS_TIMEOUT = 0.5


class Scope(StrEnum):
    REQUESTS = "requests"  # every API request, per minute
    SUBMISSIONS = "submissions"  # memos submitted, per hour
    LOGIN = "login"  # failed logins, per hour
    ADMIN = "admin"  # admin writes, per hour
    CHAT = "chat"  # coaching messages, per hour
    RETRIES = "retries"  # retries of failed evaluations, per hour


@dataclass(frozen=True)
class Decision:
    scope: Scope
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window has room again

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_after),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_after))
        return headers


@dataclass
class Reservation:
    """A slot taken in a window; `release()` gives it back (e.g. the login succeeded)."""

    decision: Decision
    _release: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    def release(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            release()


# Moving window on a sorted set: drop expired members, refuse when full, else
# add ours. One script, so concurrent reservations from any process serialise.
_RESERVE_LUA = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  count = count + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {allowed, count, oldest[2] or ARGV[1]}
"""


class _Reservations:
    """Atomic take-and-give-back slots, in Redis or (no Redis) in this process."""

    def __init__(self, redis_url: str | None, prefix: str) -> None:
        self._prefix = prefix
        self._local: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()
        self._redis: Any = None
        self._script: Any = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(
                redis_url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
            )
            self._script = self._redis.register_script(_RESERVE_LUA)

    def take(
        self, key: str, limit: int, window: int
    ) -> tuple[bool, int, float, Callable[[], None]]:
        """(allowed, count in window, oldest entry's time, release) for one slot."""
        member = uuid.uuid4().hex
        now = time.time()
        if self._redis is not None:
            full_key = f"{self._prefix}:{key}"
            allowed, count, oldest = self._script(
                keys=[full_key], args=[now, window, limit, member]
            )

            def release_redis() -> None:
                try:
                    self._redis.zrem(full_key, member)
                except Exception as exc:  # noqa: BLE001 - the slot then just ages out
                    log.warning("ratelimit.release_failed", error=repr(exc))

            return bool(allowed), int(count), float(oldest), release_redis
        with self._lock:
            entries = self._local.setdefault(key, {})
            for stale in [m for m, t in entries.items() if t <= now - window]:
                del entries[stale]
            allowed = len(entries) < limit
            if allowed:
                entries[member] = now
            oldest = min(entries.values(), default=now)
            count = len(entries)

        def release_local() -> None:
            with self._lock:
                self._local.get(key, {}).pop(member, None)

        return allowed, count, oldest, release_local


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        cfg = settings.security.rate_limiting
        self.enabled = cfg.enabled
        self.ip_multiplier = cfg.ip_multiplier
        self._items: dict[Scope, RateLimitItem] = {
            Scope.REQUESTS: RateLimitItemPerMinute(cfg.requests_per_minute),
            Scope.SUBMISSIONS: RateLimitItemPerHour(cfg.submissions_per_hour),
            Scope.LOGIN: RateLimitItemPerHour(cfg.login_attempts_per_hour),
            Scope.ADMIN: RateLimitItemPerHour(cfg.admin_operations_per_hour),
            Scope.CHAT: RateLimitItemPerHour(cfg.chat_messages_per_hour),
            Scope.RETRIES: RateLimitItemPerHour(cfg.retries_per_hour),
        }
        self.storage, self.backend = _storage(settings)
        self._reservations = _Reservations(
            settings.redis_url if self.backend == "redis" else None,
            f"{settings.backend.queue.key_prefix}:ratelimit:reserve",
        )
        # In memory: our own deque-based windows (see windows.py); Redis: `limits`.
        self._windows = MovingWindows() if self.storage is None else None
        self._strategy = MovingWindowRateLimiter(self.storage) if self.storage is not None else None
        self._last_error_log = 0.0
        self._error_lock = threading.Lock()
        self._redis_url = settings.redis_url if self.storage is not None else None
        self._prefix = _redis_prefix(settings)
        # One asyncio client per event loop: its connections belong to that loop.
        self._aio: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncMovingWindow] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def in_memory(self) -> bool:
        """True when a decision needs no I/O (counted in this process, or limits off)."""
        return self.backend == "memory" or not self.enabled

    def item(self, scope: Scope, per_ip: bool) -> RateLimitItem:
        base = self._items[scope]
        if not per_ip or self.ip_multiplier == 1:
            return base
        return type(base)(base.amount * self.ip_multiplier)

    def hit(self, scope: Scope, key: str, *, per_ip: bool = False, cost: int = 1) -> Decision:
        """Count `cost` events for `key` (caller or IP); refused events are not counted."""
        return self._run(scope, key, per_ip, count=True, cost=cost)

    def peek(self, scope: Scope, key: str, *, per_ip: bool = False) -> Decision:
        """Would one more event be allowed? Counts nothing."""
        return self._run(scope, key, per_ip, count=False)

    def reserve(self, scope: Scope, key: str, *, per_ip: bool = False) -> Reservation:
        """Take one slot now, atomically across processes; refused slots are not taken."""
        item = self.item(scope, per_ip)
        if not self.enabled:
            return Reservation(Decision(scope, True, item.amount, item.amount, 0))
        window = item.get_expiry()
        try:
            allowed, count, oldest, release = self._reservations.take(
                f"{scope.value}:{_kind(per_ip)}:{key}", item.amount, window
            )
        except Exception as exc:  # noqa: BLE001 - fail open, as for every other limit
            self._log_storage_error(exc)
            return Reservation(Decision(scope, True, item.amount, item.amount, 0))
        reset_after = max(0, math.ceil(oldest + window - time.time()))
        decision = Decision(scope, allowed, item.amount, max(0, item.amount - count), reset_after)
        return Reservation(decision, release if allowed else None)

    def clear(self, scope: Scope, key: str, *, per_ip: bool = False) -> None:
        item = self.item(scope, per_ip)
        ids = (scope.value, _kind(per_ip), key)
        if self._windows is not None:
            self._windows.clear(item.key_for(*ids))
        elif self._strategy is not None:
            self._strategy.clear(item, *ids)

    def _run(self, scope: Scope, key: str, per_ip: bool, *, count: bool, cost: int = 1) -> Decision:
        item = self.item(scope, per_ip)
        if not self.enabled:
            return Decision(scope, True, item.amount, item.amount, 0)
        ids = (scope.value, _kind(per_ip), key)
        if self._windows is not None:
            expiry = item.get_expiry()
            allowed, used, oldest = self._windows.hit(
                item.key_for(*ids), item.amount, expiry, cost, count=count
            )
            reset_after = max(0, math.ceil(oldest + expiry - time.time()))
            return Decision(scope, allowed, item.amount, max(0, item.amount - used), reset_after)
        assert self._strategy is not None
        try:
            if count:
                allowed = self._strategy.hit(item, *ids, cost=cost)
            else:
                allowed = self._strategy.test(item, *ids, cost=cost)
            stats = self._strategy.get_window_stats(item, *ids)
        except Exception as exc:  # noqa: BLE001 - any storage failure
            # Fail open: an unreachable Redis must not take the API down. Logins
            # stay protected by the per-account lockout, which lives in the database.
            self._log_storage_error(exc)
            return Decision(scope, True, item.amount, item.amount, 0)
        return _window_decision(scope, item, allowed, stats)

    def _log_storage_error(self, exc: Exception) -> None:
        with self._error_lock:
            now = time.monotonic()
            if now - self._last_error_log < 30:
                return
            self._last_error_log = now
        log.warning("ratelimit.storage_unavailable", backend=self.backend, error=repr(exc))

    def enforce(
        self, scope: Scope, *, caller: str | None, ip: str | None, cost: int = 1
    ) -> Decision:
        """Count against the caller's and the IP's limit; raise RateLimited (429) if over.

        Returns the tighter of the two decisions, for the X-RateLimit headers.
        """
        decisions: list[Decision] = []
        if ip:
            decisions.append(self.hit(scope, ip, per_ip=True, cost=cost))
        if caller:
            decisions.append(self.hit(scope, caller, cost=cost))
        return self._tightest(scope, decisions)

    async def enforce_async(
        self, scope: Scope, *, caller: str | None, ip: str | None, cost: int = 1
    ) -> Decision:
        """enforce, with Redis awaited on the running event loop (no thread)."""
        if self.in_memory:
            return self.enforce(scope, caller=caller, ip=ip, cost=cost)
        decisions: list[Decision] = []
        if ip:
            decisions.append(await self._hit_async(scope, ip, True, cost))
        if caller:
            decisions.append(await self._hit_async(scope, caller, False, cost))
        return self._tightest(scope, decisions)

    def _tightest(self, scope: Scope, decisions: list[Decision]) -> Decision:
        if not decisions:
            item = self._items[scope]
            return Decision(scope, True, item.amount, item.amount, 0)
        for decision in decisions:
            if not decision.allowed:
                raise limited(decision)
        return min(decisions, key=lambda d: (d.remaining, -d.reset_after))

    async def _hit_async(self, scope: Scope, key: str, per_ip: bool, cost: int) -> Decision:
        item = self.item(scope, per_ip)
        ids = (scope.value, _kind(per_ip), key)
        try:
            strategy = self._loop_strategy()
            allowed = await strategy.hit(item, *ids, cost=cost)
            stats = await strategy.get_window_stats(item, *ids)
        except Exception as exc:  # noqa: BLE001 - fail open, as _run does
            self._log_storage_error(exc)
            return Decision(scope, True, item.amount, item.amount, 0)
        return _window_decision(scope, item, allowed, stats)

    def _loop_strategy(self) -> AsyncMovingWindow:
        loop = asyncio.get_running_loop()
        strategy = self._aio.get(loop)
        if strategy is None:
            assert self._redis_url is not None
            storage = AsyncRedisStorage(
                "async+" + self._redis_url,
                implementation="redispy",
                key_prefix=self._prefix,
                socket_connect_timeout=REDIS_TIMEOUT,
                socket_timeout=REDIS_TIMEOUT,
            )
            strategy = self._aio[loop] = AsyncMovingWindow(storage)
        return strategy


def limited(decision: Decision, message: str | None = None) -> RateLimited:
    metrics.RATE_LIMITED.labels(decision.scope.value).inc()
    return RateLimited(
        message
        or f"Too many requests ({decision.scope.value}): retry in {decision.reset_after} s.",
        details={"scope": decision.scope.value, "limit": decision.limit},
        headers=decision.headers(),
    )


def _window_decision(scope: Scope, item: RateLimitItem, allowed: bool, stats: Any) -> Decision:
    """A Decision from limits' window stats (the sync and the asyncio strategy's)."""
    reset_after = max(0, math.ceil(stats.reset_time - time.time()))
    return Decision(scope, allowed, item.amount, max(0, stats.remaining), reset_after)


def _redis_prefix(settings: Settings) -> str:
    return f"{settings.backend.queue.key_prefix}:ratelimit"


def _kind(per_ip: bool) -> str:
    return "ip" if per_ip else "caller"


def _storage(settings: Settings) -> tuple[Storage | None, str]:
    """Redis storage for `limits`, or None: counted in this process (MovingWindows)."""
    implementation = settings.backend.rate_limiting.implementation
    redis_url = settings.redis_url
    if implementation == "redis" and not redis_url:
        raise ConfigError(
            [
                ConfigProblem(
                    "backend.yaml",
                    "backend.rate_limiting.implementation",
                    "redis needs REDIS_URL (redis://…)",
                )
            ]
        )
    if implementation == "database":
        raise ConfigError(
            [
                ConfigProblem(
                    "backend.yaml",
                    "backend.rate_limiting.implementation",
                    "database storage is not supported: use auto, memory or redis",
                )
            ]
        )
    if redis_url and implementation in ("auto", "redis"):
        prefix = _redis_prefix(settings)
        storage = RedisStorage(
            redis_url,
            key_prefix=prefix,
            socket_connect_timeout=REDIS_TIMEOUT,
            socket_timeout=REDIS_TIMEOUT,
        )
        return storage, "redis"
    return None, "memory"
