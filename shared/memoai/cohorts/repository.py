"""Every query on cohorts, memberships, assignments and reviews lives here.

One module on purpose: the single place that knows the cohort tables'
shape, so every visibility filter can be reviewed in one read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import aliased

from memoai.models import (
    Assignment,
    Cohort,
    CohortMember,
    Evaluation,
    EvaluationStatus,
    Review,
    ReviewChange,
    ReviewComment,
    Submission,
    User,
)
from memoai.platform.storable import storable

COACH_ACCOUNT_ROLES = ("coach", "admin")

# ------------------------------------------------------------------ cohorts


def get_cohort(db: DbSession, cohort_id: str) -> Cohort | None:
    if not storable(cohort_id):
        return None
    return db.get(Cohort, cohort_id)


def add_cohort(db: DbSession, *, name: str, description: str, created_by: str | None) -> Cohort:
    row = Cohort(name=name, description=description, created_by=created_by)
    db.add(row)
    db.flush()
    return row


def delete_cohort(db: DbSession, cohort_id: str) -> None:
    """The cohort, its memberships and assignments (FK cascades), and the reviews of
    its submissions (they hang off the evaluations, which stay with their writers)."""
    assignment_ids = select(Assignment.id).where(Assignment.cohort_id == cohort_id)
    evaluation_ids = select(Evaluation.id).where(Evaluation.assignment_id.in_(assignment_ids))
    db.execute(delete(Review).where(Review.evaluation_id.in_(evaluation_ids)))
    db.execute(delete(Cohort).where(Cohort.id == cohort_id))


def cohorts_page(
    db: DbSession, cohort_ids: Sequence[str] | None, *, limit: int, offset: int
) -> tuple[list[Cohort], int]:
    """These cohorts (None: every cohort), newest first."""
    query = select(Cohort)
    if cohort_ids is not None:
        query = query.where(Cohort.id.in_(list(cohort_ids)))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.scalars(
        query.order_by(Cohort.created_at.desc(), Cohort.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def member_counts(db: DbSession, cohort_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {c: {"coach": 0, "writer": 0} for c in cohort_ids}
    if not cohort_ids:
        return counts
    rows = db.execute(
        select(CohortMember.cohort_id, CohortMember.role, func.count())
        .where(CohortMember.cohort_id.in_(cohort_ids))
        .group_by(CohortMember.cohort_id, CohortMember.role)
    ).all()
    for cohort_id, role, count in rows:
        counts[cohort_id][role] = count
    return counts


def assignment_counts(db: DbSession, cohort_ids: Sequence[str]) -> dict[str, int]:
    if not cohort_ids:
        return {}
    rows = db.execute(
        select(Assignment.cohort_id, func.count())
        .where(Assignment.cohort_id.in_(cohort_ids))
        .group_by(Assignment.cohort_id)
    ).all()
    return {row[0]: row[1] for row in rows}


# ------------------------------------------------------------------ members


def member(db: DbSession, cohort_id: str, user_id: str) -> CohortMember | None:
    return db.scalars(
        select(CohortMember).where(
            CohortMember.cohort_id == cohort_id, CohortMember.user_id == user_id
        )
    ).first()


def members(db: DbSession, cohort_id: str) -> list[tuple[CohortMember, User]]:
    rows = db.execute(
        select(CohortMember, User)
        .join(User, User.id == CohortMember.user_id)
        .where(CohortMember.cohort_id == cohort_id)
        .order_by(CohortMember.role, func.lower(User.username))
    ).all()
    return [(r[0], r[1]) for r in rows]


def member_total(db: DbSession, cohort_id: str) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(CohortMember)
            .where(CohortMember.cohort_id == cohort_id)
        )
        or 0
    )


def add_member(
    db: DbSession, *, cohort_id: str, user_id: str, role: str, added_by: str | None
) -> CohortMember:
    row = CohortMember(cohort_id=cohort_id, user_id=user_id, role=role, added_by=added_by)
    db.add(row)
    db.flush()
    return row


def remove_member(db: DbSession, cohort_id: str, user_id: str) -> bool:
    if not storable(user_id):
        return False
    result = db.execute(
        delete(CohortMember).where(
            CohortMember.cohort_id == cohort_id, CohortMember.user_id == user_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Person:
    id: str
    username: str


def writers(db: DbSession, cohort_ids: Sequence[str]) -> dict[str, list[Person]]:
    """The writers of each cohort, by username."""
    found: dict[str, list[Person]] = {c: [] for c in cohort_ids}
    if not cohort_ids:
        return found
    rows = db.execute(
        select(CohortMember.cohort_id, User.id, User.username)
        .join(User, User.id == CohortMember.user_id)
        .where(CohortMember.cohort_id.in_(cohort_ids), CohortMember.role == "writer")
        .order_by(func.lower(User.username), User.id)
    ).all()
    for cohort_id, user_id, username in rows:
        found[cohort_id].append(Person(user_id, username))
    return found


def coach_ids(db: DbSession, cohort_id: str) -> list[str]:
    """Coaches who may act on the cohort now (active accounts still holding the role)."""
    return list(
        db.scalars(
            select(User.id)
            .join(CohortMember, CohortMember.user_id == User.id)
            .where(
                CohortMember.cohort_id == cohort_id,
                CohortMember.role == "coach",
                User.is_active.is_(True),
                User.role.in_(COACH_ACCOUNT_ROLES),
            )
        ).all()
    )


def usernames(db: DbSession, user_ids: Iterable[str | None]) -> dict[str, str]:
    ids = {u for u in user_ids if u}
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.username).where(User.id.in_(ids))).all()
    return {r.id: r.username for r in rows}


# ------------------------------------------------------------------ assignments


def get_assignment(db: DbSession, assignment_id: str) -> Assignment | None:
    if not storable(assignment_id):
        return None
    return db.get(Assignment, assignment_id)


def assignment_total(db: DbSession, cohort_id: str) -> int:
    return (
        db.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.cohort_id == cohort_id)
        )
        or 0
    )


def assignments_for(
    db: DbSession,
    cohort_roles: dict[str, str] | None,
    *,
    cohort_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Assignment, Cohort]], int]:
    """Assignments of the given cohorts (None: every cohort), by due date."""
    query = select(Assignment, Cohort).join(Cohort, Cohort.id == Assignment.cohort_id)
    if cohort_roles is not None:
        query = query.where(Assignment.cohort_id.in_(list(cohort_roles)))
    if cohort_id is not None:
        query = query.where(Assignment.cohort_id == cohort_id)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.execute(
        query.order_by(Assignment.due_at, Assignment.created_at, Assignment.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(r[0], r[1]) for r in rows], total


def assignments_of_cohort(db: DbSession, cohort_id: str) -> list[Assignment]:
    return list(
        db.scalars(
            select(Assignment)
            .where(Assignment.cohort_id == cohort_id)
            .order_by(Assignment.due_at, Assignment.created_at, Assignment.id)
        ).all()
    )


def member_roles(db: DbSession, user_id: str) -> dict[str, str]:
    """cohort id -> the user's member role, for every cohort they belong to."""
    rows = db.execute(
        select(CohortMember.cohort_id, CohortMember.role).where(CohortMember.user_id == user_id)
    ).all()
    return {r.cohort_id: r.role for r in rows}


def has_submissions(db: DbSession, assignment_id: str) -> bool:
    return (
        db.scalar(select(Evaluation.id).where(Evaluation.assignment_id == assignment_id).limit(1))
        is not None
    )


def due_unannounced(db: DbSession, now: datetime, limit: int) -> list[str]:
    return list(
        db.scalars(
            select(Assignment.id)
            .where(Assignment.due_notified_at.is_(None), Assignment.due_at <= now)
            .order_by(Assignment.due_at)
            .limit(limit)
        ).all()
    )


def claim_due(db: DbSession, assignment_id: str, now: datetime) -> bool:
    """Mark the due date announced; only one caller can (the event fires once)."""
    result = db.execute(
        update(Assignment)
        .where(
            Assignment.id == assignment_id,
            Assignment.due_notified_at.is_(None),
            Assignment.due_at <= now,
        )
        .values(due_notified_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


# ------------------------------------------------------------------ submissions


@dataclass(frozen=True)
class SubmittedRow:
    evaluation_id: str
    assignment_id: str
    user_id: str | None
    status: str
    overall_score: float | None
    rubric_scores: dict[str, Any] | None
    created_at: datetime
    completed_at: datetime | None
    version_number: int


def submissions(
    db: DbSession, assignment_ids: Sequence[str], user_id: str | None = None
) -> list[SubmittedRow]:
    """Every evaluation submitted to these assignments, oldest first."""
    if not assignment_ids:
        return []
    query = (
        select(
            Evaluation.id,
            Evaluation.assignment_id,
            Evaluation.user_id,
            Evaluation.status,
            Evaluation.overall_score,
            Evaluation.rubric_scores,
            Evaluation.created_at,
            Evaluation.completed_at,
            Submission.version_number,
        )
        .join(Submission, Submission.id == Evaluation.submission_id)
        .where(Evaluation.assignment_id.in_(assignment_ids))
        .order_by(Evaluation.created_at, Evaluation.id)
    )
    if user_id is not None:
        query = query.where(Evaluation.user_id == user_id)
    return [SubmittedRow(*r) for r in db.execute(query).all()]


def evaluation_with_submission(
    db: DbSession, evaluation_id: str
) -> tuple[Evaluation, Submission] | None:
    if not storable(evaluation_id):
        return None
    row = db.execute(
        select(Evaluation, Submission)
        .join(Submission, Submission.id == Evaluation.submission_id)
        .where(Evaluation.id == evaluation_id)
    ).first()
    return (row[0], row[1]) if row else None


def owned_assignment_of(db: DbSession, user_id: str, evaluation_id: str) -> tuple[bool, str | None]:
    """(found, assignment id) of one of the user's evaluations."""
    if not storable(evaluation_id):
        return False, None
    row = db.execute(
        select(Evaluation.assignment_id).where(
            Evaluation.id == evaluation_id, Evaluation.user_id == user_id
        )
    ).first()
    return (True, row.assignment_id) if row else (False, None)


def is_newest(db: DbSession, evaluation: Evaluation) -> bool:
    later = aliased(Evaluation)
    return not db.scalar(
        select(
            exists().where(
                later.assignment_id == evaluation.assignment_id,
                later.user_id == evaluation.user_id,
                or_(
                    later.created_at > evaluation.created_at,
                    and_(later.created_at == evaluation.created_at, later.id > evaluation.id),
                ),
            )
        )
    )


# ------------------------------------------------------------------ reviews


def review_of(db: DbSession, evaluation_id: str, *, for_update: bool = False) -> Review | None:
    query = select(Review).where(Review.evaluation_id == evaluation_id)
    if for_update:
        query = query.with_for_update()
    return db.scalars(query).first()


def released_snapshots(db: DbSession | Connection, evaluation_ids: Sequence[str]) -> dict[str, Any]:
    """evaluation id → the snapshot its coach released, for those released (columns only)."""
    found: dict[str, Any] = {}
    ids = list(evaluation_ids)
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit, as below
        rows = db.execute(
            select(Review.evaluation_id, Review.released_snapshot).where(
                Review.evaluation_id.in_(ids[start : start + 500]),
                Review.released_snapshot.is_not(None),
            )
        )
        found.update({r.evaluation_id: r.released_snapshot for r in rows})
    return found


def feedback_releases(db: DbSession | Connection, assignment_ids: set[str]) -> dict[str, str]:
    """assignment id → its feedback_release setting."""
    if not assignment_ids:
        return {}
    rows = db.execute(
        select(Assignment.id, Assignment.feedback_release).where(Assignment.id.in_(assignment_ids))
    )
    return {r.id: r.feedback_release for r in rows}


def reviews_for(db: DbSession, evaluation_ids: Sequence[str]) -> dict[str, Review]:
    if not evaluation_ids:
        return {}
    found: dict[str, Review] = {}
    # Chunked: SQLite allows a limited number of bound parameters per statement.
    ids = list(evaluation_ids)
    for start in range(0, len(ids), 500):
        rows = db.scalars(select(Review).where(Review.evaluation_id.in_(ids[start : start + 500])))
        found.update({r.evaluation_id: r for r in rows})
    return found


def add_review(db: DbSession, evaluation_id: str, created_by: str | None) -> Review:
    row = Review(
        evaluation_id=evaluation_id,
        status="draft",
        overrides={},
        release_count=0,
        changed_since_release=False,
        created_by=created_by,
    )
    db.add(row)
    db.flush()
    return row


def comments_of(db: DbSession, review_id: str) -> list[ReviewComment]:
    return list(
        db.scalars(
            select(ReviewComment)
            .where(ReviewComment.review_id == review_id)
            .order_by(ReviewComment.created_at, ReviewComment.id)
        ).all()
    )


def comment(db: DbSession, review_id: str, comment_id: str) -> ReviewComment | None:
    if not storable(comment_id):
        return None
    return db.scalars(
        select(ReviewComment).where(
            ReviewComment.review_id == review_id, ReviewComment.id == comment_id
        )
    ).first()


def ai_comment(db: DbSession, review_id: str, index: int) -> ReviewComment | None:
    return db.scalars(
        select(ReviewComment).where(
            ReviewComment.review_id == review_id, ReviewComment.ai_index == index
        )
    ).first()


def changes_of(db: DbSession, review_id: str) -> list[ReviewChange]:
    return list(
        db.scalars(
            select(ReviewChange)
            .where(ReviewChange.review_id == review_id)
            .order_by(ReviewChange.id)
        ).all()
    )


def add_change(
    db: DbSession,
    *,
    review_id: str,
    actor_id: str | None,
    actor_username: str | None,
    action: str,
    details: dict[str, Any],
) -> None:
    db.add(
        ReviewChange(
            review_id=review_id,
            actor_id=actor_id,
            actor_username=actor_username,
            action=action,
            details=details,
        )
    )


@dataclass(frozen=True)
class QueueRow:
    evaluation: Evaluation
    version_number: int
    assignment: Assignment
    cohort_name: str
    writer_name: str | None
    review: Review | None


def queue(
    db: DbSession,
    cohort_ids: Sequence[str] | None,
    *,
    assignment_id: str | None,
    cohort_id: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[QueueRow], int]:
    """Writers' newest completed submissions, oldest first, with their reviews."""
    later = aliased(Evaluation)
    newest = ~exists().where(
        later.assignment_id == Evaluation.assignment_id,
        later.user_id == Evaluation.user_id,
        or_(
            later.created_at > Evaluation.created_at,
            and_(later.created_at == Evaluation.created_at, later.id > Evaluation.id),
        ),
    )
    conditions: list[Any] = [
        Evaluation.assignment_id.is_not(None),
        Evaluation.status == EvaluationStatus.COMPLETED.value,
        newest,
    ]
    if cohort_ids is not None:
        conditions.append(Assignment.cohort_id.in_(list(cohort_ids)))
    if assignment_id is not None:
        conditions.append(Evaluation.assignment_id == assignment_id)
    if cohort_id is not None:
        conditions.append(Assignment.cohort_id == cohort_id)
    if status == "not_started":
        conditions.append(Review.id.is_(None))
    elif status == "draft":
        conditions.append(Review.status == "draft")
    elif status == "released":
        conditions.append(Review.status == "released")
    elif status == "pending":
        conditions.append(
            or_(
                Review.id.is_(None),
                Review.status == "draft",
                Review.changed_since_release.is_(True),
            )
        )
    base = (
        select(
            Evaluation, Submission.version_number, Assignment, Cohort.name, User.username, Review
        )
        .join(Submission, Submission.id == Evaluation.submission_id)
        .join(Assignment, Assignment.id == Evaluation.assignment_id)
        .join(Cohort, Cohort.id == Assignment.cohort_id)
        .outerjoin(User, User.id == Evaluation.user_id)
        .outerjoin(Review, Review.evaluation_id == Evaluation.id)
        .where(*conditions)
    )
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = db.execute(
        base.order_by(Evaluation.created_at, Evaluation.id).limit(limit).offset(offset)
    ).all()
    return [QueueRow(*r) for r in rows], total
