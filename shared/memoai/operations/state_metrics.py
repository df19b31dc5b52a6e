"""Metrics computed at scrape time from shared state: the database, backups, disk.

A gauge set by one process is wrong in every other one (the API never ran the
sweeper; a prefork child's value dies with it). Values read from the database
or the data volume when Prometheus scrapes are the same whichever process,
replica or pool model answers, so the alert rules can take `max()` across
instances without double counting.

Each scrape costs two indexed COUNT queries, one broker round trip (queue
lengths) and a directory listing; a failing source is reported as
`memoai_state_up{source}=0`, never as a 500 on /metrics.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from memoai.config import Settings, get_settings
from memoai.platform import metrics
from memoai.platform.queue import broker_depths

log = structlog.get_logger(__name__)


class StateCollector(Collector):
    """Queue depth, active sessions and disk usage; backups where this process owns them."""

    def __init__(self, *, database: bool = True, backups: bool = False) -> None:
        self.database = database
        self.backups = backups

    def collect(self) -> Iterator[Metric]:
        settings = get_settings()
        up = GaugeMetricFamily(
            "memoai_state_up",
            "Whether the scrape-time state metrics could be read, by source",
            labels=["source"],
        )
        if self.database:
            try:
                yield from _database_metrics()
                up.add_metric(["database"], 1)
            except Exception as exc:  # noqa: BLE001 - /metrics must answer while the DB is down
                log.warning("metrics.state_failed", source="database", error=type(exc).__name__)
                up.add_metric(["database"], 0)
        if self.database:
            # Messages waiting in the broker, per queue (a chat backlog is not
            # an evaluation backlog). Unknown (broker down) is reported as 0 up.
            depths = broker_depths(settings)
            if depths is not None:
                broker = GaugeMetricFamily(
                    "memoai_broker_queue_depth",
                    "Messages waiting in the broker, by queue",
                    labels=["queue"],
                )
                for name, depth in sorted(depths.items()):
                    broker.add_metric([name], depth)
                yield broker
            up.add_metric(["broker"], 0 if depths is None else 1)
        if self.backups and settings.database.backup.enabled:
            try:
                yield from _backup_metrics(settings)
                up.add_metric(["backups"], 1)
            except OSError as exc:
                log.warning("metrics.state_failed", source="backups", error=type(exc).__name__)
                up.add_metric(["backups"], 0)
        yield from _disk_metrics(settings, include_backups=self.backups)
        yield up


def _database_metrics() -> Iterator[Metric]:
    from sqlalchemy import func, select

    from memoai.evaluation.repository import queue_depth
    from memoai.models import Session, utcnow
    from memoai.platform.db import session_scope

    now = utcnow()
    with session_scope(write=False) as db:
        depth = queue_depth(db)
        rows = db.execute(
            select(Session.kind, func.count())
            .where(Session.expires_at > now, Session.revoked_at.is_(None))
            .group_by(Session.kind)
        ).all()
    queue = GaugeMetricFamily("memoai_queue_depth", "Evaluations waiting for a worker (queued)")
    queue.add_metric([], depth)
    yield queue
    active = GaugeMetricFamily(
        "memoai_active_sessions", "Sessions that are neither expired nor revoked", labels=["kind"]
    )
    counts = {"anonymous": 0, "user": 0} | {str(kind): int(n) for kind, n in rows}
    for kind, n in sorted(counts.items()):
        active.add_metric([kind], n)
    yield active


def _backup_metrics(settings: Settings) -> Iterator[Metric]:
    from memoai.operations.backup import list_backups

    backups = list_backups(settings.backup_dir)
    age = GaugeMetricFamily(
        "memoai_backup_age_seconds",
        "Seconds since the newest verified backup was written (+Inf when there is none)",
    )
    count = GaugeMetricFamily("memoai_backup_files", "Backup archives kept in the backup directory")
    size = GaugeMetricFamily("memoai_backup_size_bytes", "Size of the newest backup archive")
    count.add_metric([], len(backups))
    if backups:
        newest = backups[0]
        age.add_metric([], max(0.0, time.time() - newest.created_at.timestamp()))
        size.add_metric([], newest.size)
    else:
        age.add_metric([], float("inf"))
        size.add_metric([], 0)
    yield age
    yield count
    yield size


def _disk_metrics(settings: Settings, *, include_backups: bool) -> Iterator[Metric]:
    volumes: dict[str, Path] = {"data": settings.runtime.data_dir}
    if include_backups:
        volumes["backups"] = settings.backup_dir
    used = GaugeMetricFamily(
        "memoai_disk_used_ratio",
        "Used fraction of the file system holding a volume",
        labels=["volume"],
    )
    free = GaugeMetricFamily(
        "memoai_disk_free_bytes",
        "Free bytes on the file system holding a volume",
        labels=["volume"],
    )
    for name, path in volumes.items():
        probe = _existing_parent(path)
        if probe is None:
            continue
        usage = shutil.disk_usage(probe)
        used.add_metric([name], (usage.total - usage.free) / usage.total if usage.total else 0)
        free.add_metric([name], usage.free)
    yield used
    yield free


def _existing_parent(path: Path) -> Path | None:
    # The volume may not exist yet (no backup written); its parent's file system is
    # where it will be created, so that is the one to watch.
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return None


_installed: StateCollector | None = None


def install(*, database: bool = True, backups: bool = False) -> None:
    """Expose the state metrics from this process's /metrics (once per process)."""
    global _installed
    if _installed is None:
        _installed = StateCollector(database=database, backups=backups)
        metrics.add_scrape_collector(_installed)
