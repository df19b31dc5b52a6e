"""Readiness (`/health/ready`): the database and the broker are reachable."""

from __future__ import annotations

from typing import Any

from memoai.config import Settings
from memoai.platform.probes import check_broker, check_database


def readiness(settings: Settings) -> tuple[bool, dict[str, Any]]:
    checks = [check_database(), check_broker(settings)]
    return all(c.ok for c in checks), {c.name: c.as_dict() for c in checks}
