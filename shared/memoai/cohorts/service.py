"""Cohorts, memberships and assignments, and who may see what.

Visibility: an admin (signed in) sees every cohort; a coach sees the cohorts
they are a coach member of, while their account still holds the coach (or
admin) role; a writer sees the cohorts they belong to, their assignments and
their own work only. Whatever lies outside a caller's visibility is a 404,
never a 403, so its existence does not leak. Coach operations (assignments,
submissions, reviews, analytics, gradebook) answer 404 to anyone who is not a
coach of that cohort or an admin.

Who is in which cohort, and as what, decides who sees whose memos, so every
change of it is recorded in the audit trail (`auth_events`, read through
GET /admin/auth/events): cohort_created, cohort_deleted, cohort_member_added,
cohort_member_removed (also once per member when a cohort is deleted) and
cohort_member_role_changed. `user_id`/`username` name the member (for the
cohort events, the admin who acted); `details` names the cohort, the roles and
the actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from memoai.auth import repository as users_repo
from memoai.auth.service import ClientInfo
from memoai.cohorts import repository as repo
from memoai.cohorts import rubrics
from memoai.cohorts.schemas import (
    AssignmentCounts,
    AssignmentCreate,
    AssignmentDetail,
    AssignmentPage,
    AssignmentPublic,
    AssignmentUpdate,
    CohortCreate,
    CohortPage,
    CohortPublic,
    CohortUpdate,
    MemberAdd,
    MemberList,
    MemberPublic,
    MemberUpdate,
    SubmissionList,
    SubmissionRef,
    SubmissionRow,
    UserRef,
    WriterSubmission,
)
from memoai.config import Settings
from memoai.evaluation.schemas import EvaluationSubmit
from memoai.models import Assignment, Cohort, CohortMember, EvaluationStatus, Review, User, utcnow
from memoai.platform import audit
from memoai.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from memoai.platform.identity import Principal
from memoai.platform.storable import storable

COACH_ACCOUNT_ROLES = repo.COACH_ACCOUNT_ROLES


@dataclass(frozen=True)
class Access:
    cohort: Cohort
    role: str  # admin | coach | writer

    @property
    def manages(self) -> bool:
        return self.role in ("admin", "coach")


def _cohort_missing() -> NotFound:
    return NotFound("Cohort not found.", field="cohort_id")


def _assignment_missing() -> NotFound:
    return NotFound("Assignment not found.", field="assignment_id")


def cohort_access(db: DbSession, principal: Principal, cohort_id: str) -> Access | None:
    cohort = repo.get_cohort(db, cohort_id)
    if cohort is None:
        return None
    if principal.is_admin:
        return Access(cohort, "admin")
    if principal.user_id is None:
        return None
    member = repo.member(db, cohort.id, principal.user_id)
    if member is None:
        return None
    if member.role == "coach":
        # A coach demoted to a plain account loses the cohort at once.
        return Access(cohort, "coach") if principal.role in COACH_ACCOUNT_ROLES else None
    return Access(cohort, "writer")


def visible_roles(db: DbSession, principal: Principal) -> dict[str, str] | None:
    """cohort id -> the caller's role there; None for an admin (every cohort)."""
    if principal.is_admin:
        return None
    if principal.user_id is None:
        return {}
    return {
        cohort_id: role
        for cohort_id, role in repo.member_roles(db, principal.user_id).items()
        if role == "writer" or principal.role in COACH_ACCOUNT_ROLES
    }


def require_cohort(db: DbSession, principal: Principal, cohort_id: str) -> Access:
    access = cohort_access(db, principal, cohort_id)
    if access is None:
        raise _cohort_missing()
    return access


def require_coach(db: DbSession, principal: Principal, cohort_id: str) -> Access:
    access = cohort_access(db, principal, cohort_id)
    if access is None or not access.manages:
        raise _cohort_missing()
    return access


def require_assignment(
    db: DbSession, principal: Principal, assignment_id: str, *, coach: bool = False
) -> tuple[Assignment, Access]:
    assignment = repo.get_assignment(db, assignment_id)
    access = cohort_access(db, principal, assignment.cohort_id) if assignment else None
    if assignment is None or access is None or (coach and not access.manages):
        raise _assignment_missing()
    return assignment, access


# ------------------------------------------------------------------ audit

COHORT_CREATED = "cohort_created"
COHORT_DELETED = "cohort_deleted"
MEMBER_ADDED = "cohort_member_added"
MEMBER_REMOVED = "cohort_member_removed"
MEMBER_ROLE_CHANGED = "cohort_member_role_changed"


def _audit(
    db: DbSession,
    event_type: str,
    actor: Principal,
    client: ClientInfo | None,
    cohort: Cohort,
    *,
    subject: tuple[str, str] | None = None,  # (user id, username) the event is about
    details: dict[str, object] | None = None,
) -> None:
    user_id, username = subject or (actor.user_id, actor.username)
    audit.add_event(
        db,
        event_type,
        success=True,
        user_id=user_id,
        username=username,
        session_id=actor.session_fk,
        ip=client.ip if client else None,
        user_agent=client.user_agent if client else None,
        details={
            "cohort_id": cohort.id,
            "cohort": cohort.name,
            **(details or {}),
            "actor_id": actor.user_id,
            "actor": actor.username,
        },
    )


# ------------------------------------------------------------------ cohorts


def _cohort_public(db: DbSession, rows: list[tuple[Cohort, str]]) -> list[CohortPublic]:
    ids = [c.id for c, _ in rows]
    members = repo.member_counts(db, ids)
    assignments = repo.assignment_counts(db, ids)
    return [
        CohortPublic(
            id=c.id,
            name=c.name,
            description=c.description,
            my_role=role,
            coaches=members[c.id]["coach"],
            writers=members[c.id]["writer"],
            assignments=assignments.get(c.id, 0),
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        for c, role in rows
    ]


def create_cohort(
    db: DbSession, principal: Principal, body: CohortCreate, client: ClientInfo | None = None
) -> CohortPublic:
    cohort = repo.add_cohort(
        db, name=body.name.strip(), description=body.description, created_by=principal.user_id
    )
    _audit(db, COHORT_CREATED, principal, client, cohort)
    return _cohort_public(db, [(cohort, "admin")])[0]


def list_cohorts(db: DbSession, principal: Principal, *, limit: int, offset: int) -> CohortPage:
    roles = visible_roles(db, principal)
    rows, total = repo.cohorts_page(
        db, None if roles is None else list(roles), limit=limit, offset=offset
    )
    shown = [(c, "admin" if roles is None else roles[c.id]) for c in rows]
    return CohortPage(items=_cohort_public(db, shown), total=total, limit=limit, offset=offset)


def get_cohort(db: DbSession, principal: Principal, cohort_id: str) -> CohortPublic:
    access = require_cohort(db, principal, cohort_id)
    return _cohort_public(db, [(access.cohort, access.role)])[0]


def update_cohort(
    db: DbSession, principal: Principal, cohort_id: str, body: CohortUpdate
) -> CohortPublic:
    access = require_cohort(db, principal, cohort_id)
    if body.name is not None:
        access.cohort.name = body.name.strip()
    if body.description is not None:
        access.cohort.description = body.description
    db.flush()
    return _cohort_public(db, [(access.cohort, access.role)])[0]


def delete_cohort(
    db: DbSession, principal: Principal, cohort_id: str, client: ClientInfo | None = None
) -> None:
    """Assignments, memberships and reviews go with it; writers keep their evaluations."""
    access = require_cohort(db, principal, cohort_id)
    members = repo.members(db, access.cohort.id)
    # Each member's loss of the cohort is on their own record too, so the trail
    # of one account (filtered by user_id) is complete.
    for member, user in members:
        _audit(
            db,
            MEMBER_REMOVED,
            principal,
            client,
            access.cohort,
            subject=(user.id, user.username),
            details={"role": member.role, "reason": COHORT_DELETED},
        )
    _audit(
        db,
        COHORT_DELETED,
        principal,
        client,
        access.cohort,
        details={
            "coaches": sum(m.role == "coach" for m, _u in members),
            "writers": sum(m.role == "writer" for m, _u in members),
            "assignments": repo.assignment_total(db, access.cohort.id),
        },
    )
    repo.delete_cohort(db, access.cohort.id)


# ------------------------------------------------------------------ members


def list_members(db: DbSession, principal: Principal, cohort_id: str) -> MemberList:
    access = require_coach(db, principal, cohort_id)
    return MemberList(
        items=[
            MemberPublic(
                user_id=user.id,
                username=user.username,
                role=m.role,
                account_role=user.role,
                is_active=user.is_active,
                added_at=m.created_at,
            )
            for m, user in repo.members(db, access.cohort.id)
        ]
    )


def add_member(
    db: DbSession,
    settings: Settings,
    principal: Principal,
    cohort_id: str,
    body: MemberAdd,
    client: ClientInfo | None = None,
) -> MemberPublic:
    access = require_cohort(db, principal, cohort_id)
    if body.user_id is not None:
        user = users_repo.user_by_id(db, body.user_id)
        field = "user_id"
    else:
        user = users_repo.user_by_username(db, body.username or "")
        field = "username"
    if user is None:
        raise NotFound("User not found.", field=field)
    if not user.is_active:
        raise ValidationFailed("This account is deactivated.", code="inactive_user", field=field)
    _may_hold(user, body.role)
    if repo.member(db, access.cohort.id, user.id) is not None:
        raise Conflict("This user is already a member of the cohort.", code="already_member")
    limit = settings.backend.cohorts.max_members
    if repo.member_total(db, access.cohort.id) >= limit:
        raise Conflict(
            f"The cohort has {limit} members, the most allowed.",
            code="cohort_full",
            details={"max_members": limit},
        )
    try:
        with db.begin_nested():
            row = repo.add_member(
                db,
                cohort_id=access.cohort.id,
                user_id=user.id,
                role=body.role,
                added_by=principal.user_id,
            )
    except IntegrityError as exc:  # a concurrent add of the same user won
        raise Conflict(
            "This user is already a member of the cohort.", code="already_member"
        ) from exc
    _audit(
        db,
        MEMBER_ADDED,
        principal,
        client,
        access.cohort,
        subject=(user.id, user.username),
        details={"role": body.role},
    )
    return MemberPublic(
        user_id=user.id,
        username=user.username,
        role=body.role,
        account_role=user.role,
        is_active=user.is_active,
        added_at=row.created_at,
    )


def _may_hold(user: User, role: str) -> None:
    if role == "coach" and user.role not in COACH_ACCOUNT_ROLES:
        raise ValidationFailed(
            "Only accounts with the coach or admin role can coach a cohort; "
            'set the account\'s role to "coach" first (PUT /api/v1/users/{id}).',
            code="not_a_coach",
            field="role",
        )


def _membership(db: DbSession, cohort: Cohort, user_id: str) -> tuple[CohortMember, User]:
    member = repo.member(db, cohort.id, user_id) if storable(user_id) else None
    user = users_repo.user_by_id(db, user_id) if member is not None else None
    if member is None or user is None:
        raise NotFound("This user is not a member of the cohort.", field="user_id")
    return member, user


def update_member(
    db: DbSession,
    principal: Principal,
    cohort_id: str,
    user_id: str,
    body: MemberUpdate,
    client: ClientInfo | None = None,
) -> MemberPublic:
    """Change a member's role in the cohort (a writer who becomes an assistant coach)."""
    access = require_cohort(db, principal, cohort_id)
    member, user = _membership(db, access.cohort, user_id)
    if body.role != member.role:
        _may_hold(user, body.role)
        previous = member.role
        member.role = body.role
        db.flush()
        _audit(
            db,
            MEMBER_ROLE_CHANGED,
            principal,
            client,
            access.cohort,
            subject=(user.id, user.username),
            details={"role": body.role, "previous_role": previous},
        )
    return MemberPublic(
        user_id=user.id,
        username=user.username,
        role=member.role,
        account_role=user.role,
        is_active=user.is_active,
        added_at=member.created_at,
    )


def remove_member(
    db: DbSession,
    principal: Principal,
    cohort_id: str,
    user_id: str,
    client: ClientInfo | None = None,
) -> None:
    access = require_cohort(db, principal, cohort_id)
    member, user = _membership(db, access.cohort, user_id)
    role = member.role
    if not repo.remove_member(db, access.cohort.id, user.id):
        raise NotFound("This user is not a member of the cohort.", field="user_id")
    _audit(
        db,
        MEMBER_REMOVED,
        principal,
        client,
        access.cohort,
        subject=(user.id, user.username),
        details={"role": role},
    )


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
        raise _assignment_missing()
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
