"""The gradebook as CSV: one row per writer and assignment.

Columns: writer, writer_id, assignment, assignment_id, due_at, submitted_at,
version, status, ai_overall, final_overall, review_status, then one column per
criterion (final scores; blank where the assignment's rubric lacks it). Rows
follow the writers' usernames, then the assignments' due dates. A writer who
did not submit gets a row with review_status "not_submitted".

Spreadsheets run cells that start with = + - @ (or a tab or carriage return)
as formulas, and usernames and titles are typed by people: such cells are
prefixed with a single quote (OWASP's advice for CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import repository as repo
from memoai.cohorts.access import require_assignment, require_coach
from memoai.cohorts.analytics import Scored, collect
from memoai.cohorts.assignments import newest_by_writer
from memoai.models import Assignment
from memoai.platform.identity import Principal

FIXED = (
    "writer",
    "writer_id",
    "assignment",
    "assignment_id",
    "due_at",
    "submitted_at",
    "version",
    "status",
    "ai_overall",
    "final_overall",
    "review_status",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(cell: str) -> str:
    return f"'{cell}" if cell.startswith(FORMULA_START) else cell


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:g}"


def build(db: DbSession, assignments: Sequence[Assignment], writers: list[repo.Person]) -> str:
    data = collect(db, list(assignments), writers)
    columns: list[str] = []  # criterion names, in rubric order, newest assignments last
    for assignment in assignments:
        for criterion in data.rubrics[assignment.id].criteria:
            if criterion.name not in columns:
                columns.append(criterion.name)
    scored: dict[tuple[str, str], Scored] = {(s.assignment.id, s.writer.id): s for s in data.scored}
    newest: dict[tuple[str, str], repo.SubmittedRow] = newest_by_writer(
        repo.submissions(db, [a.id for a in assignments])
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIXED, *columns])
    for person in writers:
        for assignment in assignments:
            key = (assignment.id, person.id)
            item = scored.get(key)
            latest = newest.get(key)
            finals = {f.criterion.name: f.final for f in item.finals} if item else {}
            if item is not None:
                row = item.row
                status = row.status
                review = item.review.status if item.review is not None else "not_started"
            elif latest is not None:
                row, status, review = latest, latest.status, "not_started"
            else:
                row, status, review = None, "", "not_submitted"
            cells = [
                person.username,
                person.id,
                assignment.title,
                assignment.id,
                assignment.due_at.isoformat(),
                row.created_at.isoformat() if row else "",
                _number(row.version_number) if row else "",
                status,
                _number(item.row.overall_score) if item else "",
                _number(item.overall) if item else "",
                review,
                *(_number(finals.get(name)) for name in columns),
            ]
            writer.writerow([safe(c) for c in cells])
    return out.getvalue()


def for_assignment(db: DbSession, principal: Principal, assignment_id: str) -> tuple[str, str]:
    """(file name, CSV text) for one assignment."""
    assignment, _access = require_assignment(db, principal, assignment_id, coach=True)
    writers = repo.writers(db, [assignment.cohort_id])[assignment.cohort_id]
    return f"gradebook-assignment-{assignment.id[:8]}.csv", build(db, [assignment], writers)


def for_cohort(db: DbSession, principal: Principal, cohort_id: str) -> tuple[str, str]:
    """(file name, CSV text) for every assignment of a cohort."""
    access = require_coach(db, principal, cohort_id)
    assignments = repo.assignments_of_cohort(db, access.cohort.id)
    writers = repo.writers(db, [access.cohort.id])[access.cohort.id]
    return f"gradebook-cohort-{access.cohort.id[:8]}.csv", build(db, assignments, writers)
