"""Runtime switches stored in the database, so every process sees the same value."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from memoai.config import get_settings
from memoai.models import AppSetting, utcnow

DEBUG_KEY = "debug_enabled"
_CACHE_SECONDS = 2.0
_cache: dict[str, tuple[float, Any]] = {}


def get_value(db: DbSession, key: str, default: Any = None) -> Any:
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < _CACHE_SECONDS:
        return hit[1]
    row = db.get(AppSetting, key)
    value = default if row is None else row.value
    _cache[key] = (now, value)
    return value


def set_value(db: DbSession, key: str, value: Any, updated_by: str | None) -> None:
    row = db.get(AppSetting, key)
    if row is None:
        db.add(AppSetting(key=key, value=value, updated_by=updated_by))
    else:
        row.value = value
        row.updated_by = updated_by
        row.updated_at = utcnow()
    _cache.pop(key, None)


def debug_enabled(db: DbSession) -> bool:
    """The admin toggle when set, else DEBUG_MODE from the configuration."""
    return bool(get_value(db, DEBUG_KEY, get_settings().debug_mode))


def all_values(db: DbSession) -> dict[str, Any]:
    return {row.key: row.value for row in db.scalars(select(AppSetting))}
