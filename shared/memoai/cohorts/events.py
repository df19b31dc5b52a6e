"""Who hears that a review was released or an assignment came due.

Cohorts sit below the notifiers (webhooks), so they cannot call them; the
notifiers subscribe here where a process is put together (the API app and the
worker's Celery app). Unlike `memoai.evaluation.events`, listeners run inside
the transaction that records the event, so what they write (delivery rows)
commits with it or not at all: an event is never lost between two commits.
Each listener runs in a savepoint; its failure is logged and undoes only its
own writes, never the release or the due mark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.orm import Session as DbSession

log = structlog.get_logger(__name__)

REVIEW_RELEASED = "review.released"
ASSIGNMENT_DUE = "assignment.due"


@dataclass(frozen=True)
class ReviewReleased:
    evaluation_id: str
    assignment_id: str
    writer_id: str | None
    released_by: str | None  # the coach's user id
    payload: dict[str, Any] = field(default_factory=dict)  # what the event carries, frozen now


@dataclass(frozen=True)
class AssignmentDue:
    assignment_id: str
    coach_ids: tuple[str, ...]
    payload: dict[str, Any] = field(default_factory=dict)


ReleasedListener = Callable[[DbSession, ReviewReleased], object]
DueListener = Callable[[DbSession, AssignmentDue], object]
_released: list[ReleasedListener] = []
_due: list[DueListener] = []


def on_review_released(listener: ReleasedListener) -> None:
    """Call `listener(db, event)` in the transaction of every release (and re-release)."""
    if listener not in _released:
        _released.append(listener)


def on_assignment_due(listener: DueListener) -> None:
    """Call `listener(db, event)` once per assignment whose due date passed."""
    if listener not in _due:
        _due.append(listener)


def _notify(db: DbSession, listeners: list[Any], event: object, name: str) -> None:
    for listener in list(listeners):
        try:
            with db.begin_nested():
                listener(db, event)
        except Exception:
            log.exception(
                "cohorts.listener_failed",
                cohort_event=name,
                listener=getattr(listener, "__qualname__", repr(listener)),
            )


def review_released(db: DbSession, event: ReviewReleased) -> None:
    _notify(db, _released, event, REVIEW_RELEASED)


def assignment_due(db: DbSession, event: AssignmentDue) -> None:
    _notify(db, _due, event, ASSIGNMENT_DUE)
