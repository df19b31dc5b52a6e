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

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from memoai.auth import repository as users_repo
from memoai.auth.service import ClientInfo
from memoai.cohorts import repository as repo
from memoai.cohorts.access import (
    require_coach,
    require_cohort,
    visible_roles,
)
from memoai.cohorts.schemas import (
    CohortCreate,
    CohortPage,
    CohortPublic,
    CohortUpdate,
    MemberAdd,
    MemberList,
    MemberPublic,
    MemberUpdate,
)
from memoai.config import Settings
from memoai.models import Cohort, CohortMember, User
from memoai.platform import audit
from memoai.platform.errors import Conflict, NotFound, ValidationFailed
from memoai.platform.identity import Principal
from memoai.platform.storable import storable

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
    if role == "coach" and user.role not in repo.COACH_ACCOUNT_ROLES:
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
