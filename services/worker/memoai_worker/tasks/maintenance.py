"""Periodic jobs run by beat."""

from __future__ import annotations

import time
from typing import Any

import structlog

from memoai.coaching import recovery
from memoai.config import get_settings
from memoai.evaluation import sweeper
from memoai.operations import backup, retention
from memoai.platform import metrics
from memoai.platform.queue import TaskName
from memoai_worker.celery_app import BACKUP_TIME_LIMIT, app

log = structlog.get_logger(__name__)


@app.task(name=TaskName.SWEEP.value, acks_late=True)
def sweep_stuck() -> dict[str, Any]:
    """Re-enqueue stuck evaluations and chat replies; fail those that cannot finish."""
    result = sweeper.sweep()
    result.update(recovery.sweep_replies())
    return result


# Backups and retention are acked on receipt, not late: they may outlast the
# broker's visibility timeout, and a redelivered copy would run beside the
# first. A run lost with a dying worker is simply taken by the next schedule.
@app.task(
    name=TaskName.BACKUP.value,
    acks_late=False,
    soft_time_limit=BACKUP_TIME_LIMIT - 60,
    time_limit=BACKUP_TIME_LIMIT,
)
def backup_if_due(force: bool = False) -> dict[str, Any]:
    """Write a verified backup when the newest one is older than backup.interval."""
    settings = get_settings()
    cfg = settings.database.backup
    age = backup.newest_age_seconds(settings.backup_dir)
    # A little slack so an hourly check does not slip a day by one check.
    if not force and (not cfg.enabled or (age is not None and age < cfg.interval * 0.98)):
        metrics.BACKUPS.labels("skipped").inc()
        return {"outcome": "skipped", "newest_age_seconds": age}
    started = time.monotonic()
    try:
        result = backup.create_backup(settings)
    except backup.BackupBusy:
        metrics.BACKUPS.labels("skipped").inc()
        return {"outcome": "skipped", "reason": "busy"}
    except Exception:
        metrics.BACKUPS.labels("failed").inc()
        log.exception("backup.failed")
        raise
    metrics.BACKUPS.labels("ok").inc()
    metrics.BACKUP_DURATION.observe(time.monotonic() - started)
    return {"outcome": "ok", "path": str(result.path), "size": result.size}


@app.task(name=TaskName.CLEANUP.value, acks_late=False)
def cleanup() -> dict[str, int]:
    """Retention: expired sessions, old idempotency keys, submissions over the cap, files."""
    return retention.run_all(get_settings())
