"""Who may see which cohort, and as what (admin, coach or writer).

Whatever lies outside a caller's visibility is a 404, never a 403, so its
existence does not leak; coach operations answer 404 to anyone who is not a
coach of that cohort or an admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import repository as repo
from memoai.models import Assignment, Cohort
from memoai.platform.errors import NotFound
from memoai.platform.identity import Principal

COACH_ACCOUNT_ROLES = repo.COACH_ACCOUNT_ROLES


@dataclass(frozen=True)
class Access:
    cohort: Cohort
    role: str  # admin | coach | writer

    @property
    def manages(self) -> bool:
        return self.role in ("admin", "coach")


def cohort_missing() -> NotFound:
    return NotFound("Cohort not found.", field="cohort_id")


def assignment_missing() -> NotFound:
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
        raise cohort_missing()
    return access


def require_coach(db: DbSession, principal: Principal, cohort_id: str) -> Access:
    access = cohort_access(db, principal, cohort_id)
    if access is None or not access.manages:
        raise cohort_missing()
    return access


def require_assignment(
    db: DbSession, principal: Principal, assignment_id: str, *, coach: bool = False
) -> tuple[Assignment, Access]:
    assignment = repo.get_assignment(db, assignment_id)
    access = cohort_access(db, principal, assignment.cohort_id) if assignment else None
    if assignment is None or access is None or (coach and not access.manages):
        raise assignment_missing()
    return assignment, access
