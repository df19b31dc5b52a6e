"""Assignments in a cohort, their submissions and the check on a writer's submission.

A submission is an evaluation linked to an assignment; who may see it follows
`cohorts.access`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import repository as repo
from memoai.cohorts import rubrics
from memoai.cohorts.access import (
    Access,
    assignment_missing,
    cohort_access,
    require_assignment,
    require_coach,
    require_cohort,
    visible_roles,
)
from memoai.cohorts.schemas import (
    AssignmentCounts,
    AssignmentCreate,
    AssignmentDetail,
    AssignmentPage,
    AssignmentPublic,
    AssignmentUpdate,
    SubmissionList,
    SubmissionRef,
    SubmissionRow,
    UserRef,
    WriterSubmission,
)
from memoai.config import Settings
from memoai.evaluation.schemas import EvaluationSubmit
from memoai.models import Assignment, Cohort, EvaluationStatus, Review, utcnow
from memoai.platform.errors import Conflict, Forbidden, ValidationFailed
from memoai.platform.identity import Principal

# ------------------------------------------------------------------ assignments


def create_assignment(
    db: DbSession,
    settings: Settings,
    principal: Principal,
    cohort_id: str,
    body: AssignmentCreate,
) -> AssignmentDetail:
    access = require_coach(db, principal, cohort_id)
    if body.due_at <= utcnow():
        raise ValidationFailed(
            "The due date must be in the future.", code="due_in_past", field="due_at"
        )
    limit = settings.backend.cohorts.max_assignments
    if repo.assignment_total(db, access.cohort.id) >= limit:
        raise Conflict(
            f"The cohort has {limit} assignments, the most allowed.",
            code="too_many_assignments",
            details={"max_assignments": limit},
        )
    snapshot, version = rubrics.pin(body.rubric_id)
    assignment = Assignment(
        cohort_id=access.cohort.id,
        title=body.title.strip(),
        instructions=body.instructions,
        due_at=body.due_at,
        rubric_id=body.rubric_id,
        rubric_version=version,
        rubric_snapshot=snapshot,
        feedback_release=body.feedback_release,
        created_by=principal.user_id,
    )
    db.add(assignment)
    db.flush()
    return _detail(db, principal, assignment, access)


def get_assignment(db: DbSession, principal: Principal, assignment_id: str) -> AssignmentDetail:
    assignment, access = require_assignment(db, principal, assignment_id)
    return _detail(db, principal, assignment, access)


def update_assignment(
    db: DbSession, principal: Principal, assignment_id: str, body: AssignmentUpdate
) -> AssignmentDetail:
    assignment, access = require_assignment(db, principal, assignment_id, coach=True)
    if body.title is not None:
        assignment.title = body.title.strip()
    if body.instructions is not None:
        assignment.instructions = body.instructions
    if body.feedback_release is not None:
        assignment.feedback_release = body.feedback_release
    if body.due_at is not None and body.due_at != assignment.due_at:
        assignment.due_at = body.due_at
        if body.due_at > utcnow():
            # Reopened (or extended): announce the new due date when it comes.
            assignment.due_notified_at = None
    db.flush()
    return _detail(db, principal, assignment, access)


def delete_assignment(db: DbSession, principal: Principal, assignment_id: str) -> None:
    assignment, _access = require_assignment(db, principal, assignment_id, coach=True)
    if repo.has_submissions(db, assignment.id):
        raise Conflict(
            "Writers have submitted to this assignment; it can no longer be deleted.",
            code="assignment_has_submissions",
        )
    db.delete(assignment)


def list_assignments(
    db: DbSession,
    principal: Principal,
    *,
    cohort_id: str | None,
    limit: int,
    offset: int,
) -> AssignmentPage:
    roles = visible_roles(db, principal)
    if cohort_id is not None:
        access = require_cohort(db, principal, cohort_id)
        roles = {access.cohort.id: access.role} if roles is not None else None
    rows, total = repo.assignments_for(db, roles, cohort_id=cohort_id, limit=limit, offset=offset)
    items = _summaries(
        db,
        principal,
        [(a, c, "admin" if roles is None else roles[a.cohort_id]) for a, c in rows],
    )
    return AssignmentPage(items=items, total=total, limit=limit, offset=offset)


def _detail(
    db: DbSession, principal: Principal, assignment: Assignment, access: Access
) -> AssignmentDetail:
    (summary,) = _summaries(db, principal, [(assignment, access.cohort, access.role)])
    rubric = rubrics.from_snapshot(assignment.rubric_snapshot, assignment.rubric_version)
    return AssignmentDetail(
        **dict(summary),
        rubric=rubrics.public(assignment.rubric_id, rubric, assignment.rubric_version),
    )


def newest_by_writer(
    rows: list[repo.SubmittedRow],
) -> dict[tuple[str, str], repo.SubmittedRow]:
    """(assignment id, writer id) -> the writer's newest submission (rows are oldest first)."""
    newest: dict[tuple[str, str], repo.SubmittedRow] = {}
    for row in rows:
        if row.user_id is not None:
            newest[(row.assignment_id, row.user_id)] = row
    return newest


def writer_review_status(row: repo.SubmittedRow, review: Review | None) -> str | None:
    if review is not None and review.released_snapshot is not None:
        return "released"
    if row.status == EvaluationStatus.COMPLETED.value:
        return "awaiting_review"
    return None


def _summaries(
    db: DbSession, principal: Principal, rows: list[tuple[Assignment, Cohort, str]]
) -> list[AssignmentPublic]:
    managed = [a.id for a, _c, role in rows if role in ("admin", "coach")]
    written = [a.id for a, _c, role in rows if role == "writer"]
    cohort_writers = repo.writers(db, list({a.cohort_id for a, _c, role in rows}))
    all_rows = repo.submissions(db, managed)
    mine = repo.submissions(db, written, principal.user_id) if principal.user_id else []
    newest = newest_by_writer(all_rows + mine)
    reviews = repo.reviews_for(db, [r.evaluation_id for r in newest.values()])
    now = utcnow()
    items = []
    for assignment, cohort, role in rows:
        counts = None
        my_submission = None
        if role in ("admin", "coach"):
            writer_ids = [w.id for w in cohort_writers[cohort.id]]
            latest = [
                newest[(assignment.id, w)] for w in writer_ids if (assignment.id, w) in newest
            ]
            released = [
                r
                for r in latest
                if (rv := reviews.get(r.evaluation_id)) is not None
                and rv.released_snapshot is not None
            ]
            awaiting = [
                r
                for r in latest
                if r.status == EvaluationStatus.COMPLETED.value and r not in released
            ]
            counts = AssignmentCounts(
                writers=len(writer_ids),
                submitted=len(latest),
                not_submitted=len(writer_ids) - len(latest),
                reviewed=len(released),
                awaiting_review=len(awaiting),
            )
        elif principal.user_id and (assignment.id, principal.user_id) in newest:
            row = newest[(assignment.id, principal.user_id)]
            my_submission = SubmissionRef(
                evaluation_id=row.evaluation_id,
                status=row.status,
                version_number=row.version_number,
                submitted_at=row.created_at,
                completed_at=row.completed_at,
                review_status=writer_review_status(row, reviews.get(row.evaluation_id)),
            )
        snapshot = assignment.rubric_snapshot or {}
        items.append(
            AssignmentPublic(
                id=assignment.id,
                cohort_id=cohort.id,
                cohort_name=cohort.name,
                title=assignment.title,
                instructions=assignment.instructions,
                due_at=assignment.due_at,
                is_closed=assignment.due_at <= now,
                rubric_id=assignment.rubric_id,
                rubric_name=str(snapshot.get("name", "")),
                rubric_version=assignment.rubric_version,
                feedback_release=assignment.feedback_release,
                my_role=role,
                counts=counts,
                my_submission=my_submission,
                due_notified_at=assignment.due_notified_at,
                created_at=assignment.created_at,
                updated_at=assignment.updated_at,
            )
        )
    return items


def list_submissions(db: DbSession, principal: Principal, assignment_id: str) -> SubmissionList:
    """Coach: one row per writer (not submitted too). Writer: their own versions."""
    assignment, access = require_assignment(db, principal, assignment_id)
    if not access.manages:
        assert principal.user_id is not None
        own = repo.submissions(db, [assignment.id], principal.user_id)
        reviews = repo.reviews_for(db, [r.evaluation_id for r in own])
        return SubmissionList(
            items=[],
            mine=[
                WriterSubmission(
                    evaluation_id=r.evaluation_id,
                    status=r.status,
                    version_number=r.version_number,
                    submitted_at=r.created_at,
                    completed_at=r.completed_at,
                    review_status=writer_review_status(r, reviews.get(r.evaluation_id)),
                )
                for r in reversed(own)
            ],
        )
    writers = repo.writers(db, [assignment.cohort_id])[assignment.cohort_id]
    newest = newest_by_writer(repo.submissions(db, [assignment.id]))
    reviews = repo.reviews_for(db, [r.evaluation_id for r in newest.values()])
    items = []
    for writer in writers:
        row = newest.get((assignment.id, writer.id))
        review = reviews.get(row.evaluation_id) if row else None
        items.append(
            SubmissionRow(
                writer=UserRef(id=writer.id, username=writer.username),
                evaluation_id=row.evaluation_id if row else None,
                status=row.status if row else None,
                version_number=row.version_number if row else None,
                submitted_at=row.created_at if row else None,
                completed_at=row.completed_at if row else None,
                ai_overall_score=row.overall_score if row else None,
                final_overall_score=(
                    review.final_overall if review is not None else row.overall_score
                )
                if row
                else None,
                review_status=submission_state(row, review),
                unreleased_changes=bool(review and review.changed_since_release),
            )
        )
    return SubmissionList(items=items, mine=[])


def submission_state(row: repo.SubmittedRow | None, review: Review | None) -> str:
    if row is None:
        return "not_submitted"
    if review is None:
        return "not_started"
    return review.status


# ------------------------------------------------------------------ submitting


def check_submission(db: DbSession, principal: Principal, body: EvaluationSubmit) -> str | None:
    """The assignment a submit answers (None for a personal memo), or refuse it.

    A revision of a submission stays in its assignment, named or not.
    """
    assignment_id = body.assignment_id
    if body.previous_evaluation_id and principal.user_id:
        found, previous_assignment = repo.owned_assignment_of(
            db, principal.user_id, body.previous_evaluation_id
        )
        if found and assignment_id is None:
            assignment_id = previous_assignment
        elif found and previous_assignment != assignment_id:
            raise ValidationFailed(
                "The evaluation to revise was not submitted to this assignment.",
                code="previous_not_in_assignment",
                field="previous_evaluation_id",
            )
    if assignment_id is None:
        return None
    assignment = repo.get_assignment(db, assignment_id)
    access = cohort_access(db, principal, assignment.cohort_id) if assignment else None
    if assignment is None or access is None:
        raise assignment_missing()
    if access.role != "writer":
        raise Forbidden(
            "Only the writers of this cohort submit to its assignments.",
            code="writer_required",
            field="assignment_id",
        )
    now = utcnow()
    if now >= assignment.due_at:
        raise Conflict(
            f"The assignment closed at {_iso(assignment.due_at)}; submissions and revisions "
            "are no longer accepted.",
            code="assignment_closed",
            field="assignment_id",
            details={"due_at": _iso(assignment.due_at)},
        )
    return assignment.id


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
