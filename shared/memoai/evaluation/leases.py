"""One heartbeat thread per worker process and kind of job: renews leases and writes progress.

A worker that dies (SIGKILL, OOM, lost host) stops renewing; its leases expire
within `lease_seconds` and the sweeper hands those evaluations to another
worker (or, for chat replies, fails them so the user can retry). Progress from
every running evaluation is collected in memory and written once a second in
one transaction: with dozens of evaluations streaming at once, a write per
evaluation per second kept the database's single writer busy and made every
other write wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import structlog
from sqlalchemy import bindparam, update

from memoai.models import ChatMessage, Evaluation, EvaluationStatus, utcnow
from memoai.platform.db import session_scope

log = structlog.get_logger(__name__)
PROGRESS_FLUSH_SECONDS = 1.0


Leased = type[Evaluation] | type[ChatMessage]
# The status a row holds while its lease is alive.
ACTIVE_STATUS: dict[str, str] = {
    Evaluation.__name__: EvaluationStatus.PROCESSING.value,
    ChatMessage.__name__: "streaming",
}


class LeaseKeeper:
    def __init__(self, lease_seconds: float, model: Leased = Evaluation) -> None:
        self.lease_seconds = lease_seconds
        self.model = model
        self.active_status = ACTIVE_STATUS[model.__name__]
        self.renew_every = max(0.5, lease_seconds / 3)
        self._active: dict[str, str] = {}  # evaluation id -> lease token
        self._progress: dict[str, int] = {}  # evaluation id -> newest unwritten percent
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_renew = 0.0

    @contextmanager
    def hold(self, evaluation_id: str, lease_token: str) -> Iterator[None]:
        with self._lock:
            self._active[evaluation_id] = lease_token
            if self._thread is None or not self._thread.is_alive():
                self._last_renew = time.monotonic()
                self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._active.pop(evaluation_id, None)
                self._progress.pop(evaluation_id, None)

    def report_progress(self, evaluation_id: str, percent: int) -> None:
        """Cheap and non-blocking: the heartbeat writes it within a second."""
        with self._lock:
            if evaluation_id in self._active:
                self._progress[evaluation_id] = percent

    def _run(self) -> None:
        while True:
            time.sleep(PROGRESS_FLUSH_SECONDS)
            with self._lock:
                progress = [
                    {"eid": eid, "token": self._active[eid], "pct": pct}
                    for eid, pct in self._progress.items()
                    if eid in self._active
                ]
                self._progress.clear()
                due = time.monotonic() - self._last_renew >= self.renew_every
                tokens = list(self._active.values()) if due else []
            if due:
                self._last_renew = time.monotonic()
            if progress or tokens:
                self._write(progress, tokens)

    def _write(self, progress: list[dict[str, object]], tokens: list[str]) -> None:
        processing = Evaluation.status == EvaluationStatus.PROCESSING.value
        try:
            with session_scope() as db:
                if progress and self.model is Evaluation:
                    db.execute(
                        update(Evaluation)
                        .where(
                            Evaluation.id == bindparam("eid"),
                            Evaluation.lease_token == bindparam("token"),
                            processing,
                            Evaluation.progress_percentage < bindparam("pct"),
                        )
                        .values(progress_percentage=bindparam("pct"))
                        .execution_options(synchronize_session=False),
                        progress,
                    )
                if tokens:
                    self.renew_in(db, tokens)
        except Exception as exc:  # noqa: BLE001 - retried next beat; lease expiry is the fallback
            log.warning("heartbeat.write_failed", error=type(exc).__name__, leases=len(tokens))

    def renew(self, tokens: list[str]) -> None:
        with session_scope() as db:
            self.renew_in(db, tokens)

    def renew_in(self, db: object, tokens: list[str]) -> None:
        model = self.model
        db.execute(  # type: ignore[attr-defined]
            update(model)
            .where(model.lease_token.in_(tokens), model.status == self.active_status)
            .values(lease_expires_at=utcnow() + timedelta(seconds=self.lease_seconds))
            .execution_options(synchronize_session=False)
        )


_keepers: dict[str, LeaseKeeper] = {}
_keeper_lock = threading.Lock()


def keeper(lease_seconds: float, model: Leased = Evaluation) -> LeaseKeeper:
    """The process's keeper for one kind of leased row (evaluations, chat replies)."""
    with _keeper_lock:
        found = _keepers.get(model.__name__)
        if found is None or found.lease_seconds != lease_seconds:
            found = _keepers[model.__name__] = LeaseKeeper(lease_seconds, model)
        return found
