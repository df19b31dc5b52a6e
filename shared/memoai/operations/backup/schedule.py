"""The backup directory over time: naming, listing, age and rotation.

Owns the archive file names (``PREFIX`` and the pattern that reads the UTC time,
engine and label back out of a name), the listing of our archives newest first,
the newest one's age (the beat's "is one due" check and the age metric) and the
rotation that deletes archives past the retention period but always keeps the
newest ``MIN_KEEP``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from memoai.operations.backup.archive import Engine

log = structlog.get_logger(__name__)

PREFIX = "memoai-backup-"
# Rotation never removes the newest archives, however old: a stopped beat must
# not end with no backup at all.
MIN_KEEP = 1
_NAME_RE = re.compile(
    r"^memoai-backup-(?P<ts>\d{8}T\d{6}Z)-(?P<engine>sqlite|postgresql)"
    r"(?:-(?P<label>[a-z0-9]+))?\.tar(?P<gz>\.gz)?$"
)


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    created_at: datetime
    engine: Engine
    label: str | None
    size: int


def list_backups(directory: Path) -> list[BackupInfo]:
    """Our archives in `directory`, newest first (names carry the UTC time)."""
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = _NAME_RE.match(entry.name)
        if not match or not entry.is_file():
            continue
        created = datetime.strptime(match["ts"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        found.append(
            BackupInfo(
                path=entry,
                created_at=created,
                engine=match["engine"],  # type: ignore[arg-type]
                label=match["label"],
                size=entry.stat().st_size,
            )
        )
    return sorted(found, key=lambda b: (b.created_at, b.path.name), reverse=True)


def newest_age_seconds(directory: Path) -> float | None:
    backups = list_backups(directory)
    if not backups:
        return None
    return max(0.0, time.time() - backups[0].created_at.timestamp())


def rotate(directory: Path, retention_days: int, *, now: datetime | None = None) -> list[Path]:
    """Delete archives older than the retention period, keeping the newest MIN_KEEP."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    removed = []
    for info in list_backups(directory)[MIN_KEEP:]:
        if info.created_at < cutoff:
            info.path.unlink(missing_ok=True)
            removed.append(info.path)
    if removed:
        log.info("backup.rotated", removed=[p.name for p in removed])
    return removed
