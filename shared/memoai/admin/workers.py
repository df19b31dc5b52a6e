"""Worker heartbeats and the broker round-trip ping, kept in app_settings.

Each worker's main process writes `worker:<name>` every HEARTBEAT_SECONDS; the
status page counts a worker alive while its row is fresher than ALIVE_SECONDS.
The ping task writes `ping:<token>` so the API can see the round trip finish
without a Celery result backend (we run without one).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import structlog

from memoai.admin import repository as repo
from memoai.admin import schemas as sc
from memoai.models import utcnow
from memoai.platform.db import session_scope

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 10.0
ALIVE_SECONDS = 3 * HEARTBEAT_SECONDS + 5
FORGET_AFTER = timedelta(days=1)
WORKER_PREFIX = "worker:"
PING_PREFIX = "ping:"


def _key(name: str) -> str:
    return (WORKER_PREFIX + name)[:64]


def beat(name: str, pid: int, started_at: datetime) -> None:
    with session_scope() as db:
        repo.put_setting(
            db,
            _key(name),
            {"name": name, "pid": pid, "started_at": started_at.isoformat()},
        )


def forget(name: str) -> None:
    with session_scope() as db:
        repo.delete_settings(db, _key(name))


def live_workers() -> list[sc.WorkerStatus]:
    now = utcnow()
    with session_scope(write=False) as db:
        rows = repo.settings_with_prefix(db, WORKER_PREFIX)
        out = []
        for row in rows:
            value = row.value if isinstance(row.value, dict) else {}
            started = value.get("started_at")
            out.append(
                sc.WorkerStatus(
                    name=str(value.get("name") or row.key.removeprefix(WORKER_PREFIX)),
                    last_seen=row.updated_at,
                    alive=(now - row.updated_at).total_seconds() < ALIVE_SECONDS,
                    pid=value.get("pid") if isinstance(value.get("pid"), int) else None,
                    started_at=datetime.fromisoformat(started) if started else None,
                )
            )
    return sorted(out, key=lambda w: (not w.alive, w.name))


class Heartbeat:
    """A daemon thread in the worker's main process."""

    def __init__(self, name: str, pid: int) -> None:
        self.name = name
        self.pid = pid
        self.started_at = utcnow()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memoai-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            forget(self.name)
        except Exception as exc:  # noqa: BLE001 - shutting down; the row simply ages out
            log.warning("worker.heartbeat_forget_failed", error=type(exc).__name__)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                beat(self.name, self.pid, self.started_at)
                with session_scope() as db:
                    repo.delete_settings_older(db, WORKER_PREFIX, utcnow() - FORGET_AFTER)
                    # Pings the API gave up on (timed out) are never cleared by it.
                    repo.delete_settings_older(db, PING_PREFIX, utcnow() - timedelta(hours=1))
            except Exception as exc:  # noqa: BLE001 - a database blip must not stop the loop
                log.warning("worker.heartbeat_failed", error=type(exc).__name__)
            self._stop.wait(HEARTBEAT_SECONDS)


def answer_ping(token: str, worker: str) -> None:
    """Called by the ping task in a worker: record that the message arrived."""
    with session_scope() as db:
        repo.put_setting(
            db, (PING_PREFIX + token)[:64], {"worker": worker, "at": utcnow().isoformat()}
        )


def ping_answer(token: str) -> dict[str, str] | None:
    with session_scope(write=False) as db:
        value = repo.get_setting(db, (PING_PREFIX + token)[:64])
    return value if isinstance(value, dict) else None


def clear_ping(token: str) -> None:
    with session_scope() as db:
        repo.delete_settings(db, (PING_PREFIX + token)[:64])
