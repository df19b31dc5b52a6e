"""Reachability probes for the database and the broker, timed; used by readiness and
the admin self-test."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from memoai.config import Settings
from memoai.platform.db import ping


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    latency_ms: float
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "latency_ms": round(self.latency_ms, 2),
            **({"detail": self.detail} if self.detail else {}),
        }


def _timed(name: str, fn: Any) -> Check:
    started = time.perf_counter()
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return Check(name, False, (time.perf_counter() - started) * 1000, type(exc).__name__)
    return Check(name, True, (time.perf_counter() - started) * 1000)


def check_database() -> Check:
    return _timed("database", ping)


def check_broker(settings: Settings, timeout: float = 1.0) -> Check:
    def redis_ping() -> None:
        import redis

        client = redis.Redis.from_url(
            settings.redis_url or "", socket_timeout=timeout, socket_connect_timeout=timeout
        )
        try:
            client.ping()
        finally:
            client.close()

    def embedded_ping() -> None:
        path = settings.broker_url.split("sqlite:///", 1)[1]
        conn = sqlite3.connect(path, timeout=timeout)
        try:
            conn.execute("SELECT 1")
        finally:
            conn.close()

    return _timed("broker", redis_ping if settings.redis_url else embedded_ping)
