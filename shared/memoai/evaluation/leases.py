"""Short leases, renewed by one heartbeat thread per worker process.

A worker that dies (SIGKILL, OOM, lost host) stops renewing; its leases expire
within `lease_seconds` and the sweeper hands those evaluations to another
worker. One UPDATE renews every active lease of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import structlog
from sqlalchemy import update

from memoai.db import session_scope
from memoai.models import Evaluation, EvaluationStatus, utcnow

log = structlog.get_logger(__name__)


class LeaseKeeper:
    def __init__(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds
        self.interval = max(0.5, lease_seconds / 3)
        self._active: dict[str, str] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def hold(self, evaluation_id: str, lease_token: str) -> Iterator[None]:
        with self._lock:
            self._active[evaluation_id] = lease_token
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="lease-heartbeat", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._active.pop(evaluation_id, None)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            with self._lock:
                tokens = list(self._active.values())
            if tokens:
                self.renew(tokens)

    def renew(self, tokens: list[str]) -> None:
        try:
            with session_scope() as db:
                db.execute(
                    update(Evaluation)
                    .where(
                        Evaluation.lease_token.in_(tokens),
                        Evaluation.status == EvaluationStatus.PROCESSING.value,
                    )
                    .values(lease_expires_at=utcnow() + timedelta(seconds=self.lease_seconds))
                    .execution_options(synchronize_session=False)
                )
        except Exception as exc:  # noqa: BLE001 - retried on the next beat; expiry is the fallback
            log.warning("lease.renew_failed", error=type(exc).__name__, count=len(tokens))


_keeper: LeaseKeeper | None = None
_keeper_lock = threading.Lock()


def keeper(lease_seconds: float) -> LeaseKeeper:
    global _keeper
    with _keeper_lock:
        if _keeper is None or _keeper.lease_seconds != lease_seconds:
            _keeper = LeaseKeeper(lease_seconds)
        return _keeper
