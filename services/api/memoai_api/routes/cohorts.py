"""Cohorts and their members (admins), analytics and gradebook (coaches)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from memoai.cohorts import analytics, gradebook, schemas, service
from memoai.platform.db import session_scope
from memoai_api import examples
from memoai_api.deps import AdminDep, ClientDep, JsonBody, SettingsDep, UserDep
from memoai_api.downloads import CsvResponse, csv_response
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/cohorts", tags=["cohorts"])
CohortId = Annotated[str, Path(max_length=64, description="The cohort's id")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "Not logged in"},
    404: {"model": ErrorEnvelope, "description": "No such cohort, or not one of yours"},
}
ADMIN: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorEnvelope, "description": "Not a signed-in admin, or no X-CSRF-Token"},
}


@router.post(
    "",
    status_code=201,
    response_model=Envelope[schemas.CohortPublic],
    dependencies=[JsonBody],
    responses={**ADMIN, **examples.ok({**examples.COHORT, "my_role": "admin"}, 201)},
)
def create_cohort(
    body: schemas.CohortCreate, admin: AdminDep, client: ClientDep
) -> Envelope[schemas.CohortPublic]:
    """Create a cohort (admin only); then add its coaches and writers."""
    with session_scope() as db:
        return ok(service.create_cohort(db, admin, body, client))


@router.get(
    "",
    response_model=Envelope[schemas.CohortPage],
    responses={**ERRORS, **examples.ok(examples.page(examples.COHORT))},
)
def list_cohorts(
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Envelope[schemas.CohortPage]:
    """Your cohorts (every cohort for an admin), newest first, with your role in each."""
    with session_scope(write=False) as db:
        return ok(service.list_cohorts(db, user, limit=limit, offset=offset))


@router.get(
    "/{cohort_id}",
    response_model=Envelope[schemas.CohortPublic],
    responses={**ERRORS, **examples.ok(examples.COHORT)},
)
def get_cohort(cohort_id: CohortId, user: UserDep) -> Envelope[schemas.CohortPublic]:
    """One of your cohorts."""
    with session_scope(write=False) as db:
        return ok(service.get_cohort(db, user, cohort_id))


@router.put(
    "/{cohort_id}",
    response_model=Envelope[schemas.CohortPublic],
    dependencies=[JsonBody],
    responses={**ADMIN, **examples.ok({**examples.COHORT, "my_role": "admin"})},
)
def update_cohort(
    cohort_id: CohortId, body: schemas.CohortUpdate, admin: AdminDep
) -> Envelope[schemas.CohortPublic]:
    """Rename a cohort or change its description (admin only)."""
    with session_scope() as db:
        return ok(service.update_cohort(db, admin, cohort_id, body))


@router.delete(
    "/{cohort_id}",
    response_model=Envelope[schemas.Deleted],
    responses={**ADMIN, **examples.ok({"id": examples.COHORT_ID, "deleted": True})},
)
def delete_cohort(
    cohort_id: CohortId, admin: AdminDep, client: ClientDep
) -> Envelope[schemas.Deleted]:
    """Delete a cohort with its assignments and reviews; writers keep their evaluations."""
    with session_scope() as db:
        service.delete_cohort(db, admin, cohort_id, client)
    return ok(schemas.Deleted(id=cohort_id))


@router.get(
    "/{cohort_id}/members",
    response_model=Envelope[schemas.MemberList],
    responses={**ERRORS, **examples.ok({"items": [examples.MEMBER]})},
)
def list_members(cohort_id: CohortId, user: UserDep) -> Envelope[schemas.MemberList]:
    """The cohort's coaches and writers (its coaches and admins)."""
    with session_scope(write=False) as db:
        return ok(service.list_members(db, user, cohort_id))


@router.post(
    "/{cohort_id}/members",
    status_code=201,
    response_model=Envelope[schemas.MemberPublic],
    dependencies=[JsonBody],
    responses={
        **ADMIN,
        409: {"model": ErrorEnvelope, "description": "already_member or cohort_full"},
        422: {"model": ErrorEnvelope, "description": "not_a_coach, inactive_user, bad body"},
        **examples.ok(examples.MEMBER, 201),
    },
)
def add_member(
    cohort_id: CohortId,
    body: schemas.MemberAdd,
    admin: AdminDep,
    settings: SettingsDep,
    client: ClientDep,
) -> Envelope[schemas.MemberPublic]:
    """Add a coach (an account with the coach or admin role) or a writer (admin only)."""
    with session_scope() as db:
        return ok(service.add_member(db, settings, admin, cohort_id, body, client))


@router.patch(
    "/{cohort_id}/members/{user_id}",
    response_model=Envelope[schemas.MemberPublic],
    dependencies=[JsonBody],
    responses={
        **ADMIN,
        422: {"model": ErrorEnvelope, "description": "not_a_coach, bad body"},
        **examples.ok({**examples.MEMBER, "role": "coach", "account_role": "coach"}),
    },
)
def update_member(
    cohort_id: CohortId,
    user_id: Annotated[str, Path(max_length=64)],
    body: schemas.MemberUpdate,
    admin: AdminDep,
    client: ClientDep,
) -> Envelope[schemas.MemberPublic]:
    """Change a member's role in the cohort, coach or writer (admin only)."""
    with session_scope() as db:
        return ok(service.update_member(db, admin, cohort_id, user_id, body, client))


@router.delete(
    "/{cohort_id}/members/{user_id}",
    response_model=Envelope[schemas.Deleted],
    responses={**ADMIN, **examples.ok({"id": examples.WRITER["id"], "deleted": True})},
)
def remove_member(
    cohort_id: CohortId,
    user_id: Annotated[str, Path(max_length=64)],
    admin: AdminDep,
    client: ClientDep,
) -> Envelope[schemas.Deleted]:
    """Remove a member (admin only); their submissions stay with the assignments."""
    with session_scope() as db:
        service.remove_member(db, admin, cohort_id, user_id, client)
    return ok(schemas.Deleted(id=user_id))


@router.get(
    "/{cohort_id}/analytics",
    response_model=Envelope[schemas.CohortAnalytics],
    responses={**ERRORS, **examples.ok(examples.COHORT_ANALYTICS)},
)
def cohort_analytics(cohort_id: CohortId, user: UserDep) -> Envelope[schemas.CohortAnalytics]:
    """Weak criteria, progress over assignments and AI–coach agreement (coaches)."""
    with session_scope(write=False) as db:
        return ok(analytics.for_cohort(db, user, cohort_id))


@router.get(
    "/{cohort_id}/gradebook.csv",
    response_class=CsvResponse,
    responses={**ERRORS, **examples.csv(examples.GRADEBOOK)},
)
def cohort_gradebook(cohort_id: CohortId, user: UserDep) -> CsvResponse:
    """Every writer × assignment of the cohort as CSV (coaches)."""
    with session_scope(write=False) as db:
        return csv_response(*gradebook.for_cohort(db, user, cohort_id))
