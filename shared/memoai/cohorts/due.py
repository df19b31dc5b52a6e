"""The assignment.due announcement (beat): once per assignment, when due_at passes.

Each assignment is claimed with one conditional UPDATE (due_notified_at still
empty), and the event's listeners write their deliveries in that same
transaction, so two beats, a retried task or a crash between the two writes
can neither announce an assignment twice nor lose the announcement. Moving a
due date into the future (PUT /assignments/{id}) re-arms it.
"""

from __future__ import annotations

from typing import Any

import structlog

from memoai.cohorts import events
from memoai.cohorts import repository as repo
from memoai.models import utcnow
from memoai.platform.db import session_scope

log = structlog.get_logger(__name__)


def announce_due(limit: int = 100) -> dict[str, Any]:
    now = utcnow()
    with session_scope(write=False) as db:
        due = repo.due_unannounced(db, now, limit)
    announced = 0
    for assignment_id in due:
        with session_scope() as db:
            if not repo.claim_due(db, assignment_id, now):
                continue  # another beat run took it, or the due date moved
            assignment = repo.get_assignment(db, assignment_id)
            assert assignment is not None
            writers = repo.writers(db, [assignment.cohort_id])[assignment.cohort_id]
            submitted = {r.user_id for r in repo.submissions(db, [assignment.id])}
            missing = [w for w in writers if w.id not in submitted]
            payload = {
                "assignment": {
                    "id": assignment.id,
                    "cohort_id": assignment.cohort_id,
                    "title": assignment.title,
                    "due_at": assignment.due_at.isoformat(),
                    "rubric_id": assignment.rubric_id,
                    "rubric_version": assignment.rubric_version,
                },
                "counts": {
                    "writers": len(writers),
                    "submitted": len(writers) - len(missing),
                    "not_submitted": len(missing),
                },
                "not_submitted": [{"id": w.id, "username": w.username} for w in missing],
            }
            events.assignment_due(
                db,
                events.AssignmentDue(
                    assignment_id=assignment.id,
                    coach_ids=tuple(repo.coach_ids(db, assignment.cohort_id)),
                    payload=payload,
                ),
            )
            announced += 1
            log.info(
                "assignment.due_announced",
                assignment_id=assignment.id,
                submitted=len(writers) - len(missing),
                not_submitted=len(missing),
            )
    return {"due": len(due), "announced": announced}
