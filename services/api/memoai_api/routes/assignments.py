"""Assignments: coaches set them, writers see and submit to them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from memoai.cohorts import analytics, assignments, gradebook, schemas, submissions
from memoai.evaluation.schemas import SubmitResult
from memoai.platform.db import session_scope
from memoai_api import examples
from memoai_api.deps import JsonBody, SettingsDep, SubmissionLimit, UserDep
from memoai_api.downloads import CsvResponse, csv_response
from memoai_api.envelope import Envelope, ErrorEnvelope, ok, request_id
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["cohorts"])
CohortId = Annotated[str, Path(max_length=64, description="The cohort's id")]
AssignmentId = Annotated[str, Path(max_length=64, description="The assignment's id")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "Not logged in"},
    404: {"model": ErrorEnvelope, "description": "Not found, or not in one of your cohorts"},
}


@router.post(
    "/cohorts/{cohort_id}/assignments",
    status_code=201,
    response_model=Envelope[schemas.AssignmentDetail],
    dependencies=[JsonBody],
    responses={
        **ERRORS,
        409: {"model": ErrorEnvelope, "description": "too_many_assignments"},
        422: {"model": ErrorEnvelope, "description": "unknown_rubric, due_in_past, bad body"},
        **examples.ok(examples.ASSIGNMENT_DETAIL, 201),
    },
)
def create_assignment(
    cohort_id: CohortId, body: schemas.AssignmentCreate, user: UserDep, settings: SettingsDep
) -> Envelope[schemas.AssignmentDetail]:
    """Set an assignment (coaches): its rubric's current version is pinned to it."""
    with session_scope() as db:
        return ok(assignments.create_assignment(db, settings, user, cohort_id, body))


@router.get(
    "/cohorts/{cohort_id}/assignments",
    response_model=Envelope[schemas.AssignmentPage],
    responses={**ERRORS, **examples.ok(examples.page(examples.ASSIGNMENT))},
)
def cohort_assignments(
    cohort_id: CohortId,
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Envelope[schemas.AssignmentPage]:
    """A cohort's assignments by due date (counts for coaches, your submission for writers)."""
    with session_scope(write=False) as db:
        return ok(
            assignments.list_assignments(db, user, cohort_id=cohort_id, limit=limit, offset=offset)
        )


@router.get(
    "/assignments",
    response_model=Envelope[schemas.AssignmentPage],
    responses={**ERRORS, **examples.ok(examples.page(examples.ASSIGNMENT))},
)
def my_assignments(
    user: UserDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Envelope[schemas.AssignmentPage]:
    """Every assignment of your cohorts, by due date: what you write, and what you coach."""
    with session_scope(write=False) as db:
        return ok(
            assignments.list_assignments(db, user, cohort_id=None, limit=limit, offset=offset)
        )


@router.get(
    "/assignments/{assignment_id}",
    response_model=Envelope[schemas.AssignmentDetail],
    responses={**ERRORS, **examples.ok(examples.ASSIGNMENT_DETAIL)},
)
def get_assignment(
    assignment_id: AssignmentId, user: UserDep
) -> Envelope[schemas.AssignmentDetail]:
    """One assignment with its pinned rubric."""
    with session_scope(write=False) as db:
        return ok(assignments.get_assignment(db, user, assignment_id))


@router.put(
    "/assignments/{assignment_id}",
    response_model=Envelope[schemas.AssignmentDetail],
    dependencies=[JsonBody],
    responses={**ERRORS, **examples.ok(examples.ASSIGNMENT_DETAIL)},
)
def update_assignment(
    assignment_id: AssignmentId, body: schemas.AssignmentUpdate, user: UserDep
) -> Envelope[schemas.AssignmentDetail]:
    """Change the title, instructions, due date or feedback release (coaches)."""
    with session_scope() as db:
        return ok(assignments.update_assignment(db, user, assignment_id, body))


@router.delete(
    "/assignments/{assignment_id}",
    response_model=Envelope[schemas.Deleted],
    responses={
        **ERRORS,
        409: {"model": ErrorEnvelope, "description": "assignment_has_submissions"},
        **examples.ok({"id": examples.ASSIGNMENT_ID, "deleted": True}),
    },
)
def delete_assignment(assignment_id: AssignmentId, user: UserDep) -> Envelope[schemas.Deleted]:
    """Delete an assignment nobody has submitted to (coaches)."""
    with session_scope() as db:
        assignments.delete_assignment(db, user, assignment_id)
    return ok(schemas.Deleted(id=assignment_id))


@router.get(
    "/assignments/{assignment_id}/submissions",
    response_model=Envelope[schemas.SubmissionList],
    responses={**ERRORS, **examples.ok(examples.SUBMISSIONS)},
)
def list_submissions(
    assignment_id: AssignmentId, user: UserDep
) -> Envelope[schemas.SubmissionList]:
    """Coaches: every writer's newest submission. Writers: your own versions."""
    with session_scope(write=False) as db:
        return ok(assignments.list_submissions(db, user, assignment_id))


@router.post(
    "/assignments/{assignment_id}/submissions",
    status_code=202,
    response_model=Envelope[SubmitResult],
    dependencies=[JsonBody, SubmissionLimit],
    responses={
        **ERRORS,
        403: {"model": ErrorEnvelope, "description": "writer_required: you coach this cohort"},
        409: {
            "model": ErrorEnvelope,
            "description": "assignment_closed, or Idempotency-Key reused",
        },
        422: {"model": ErrorEnvelope, "description": "Empty, too long or invalid text"},
        **examples.ok(examples.SUBMIT, 202),
    },
)
def submit(
    assignment_id: AssignmentId,
    body: schemas.AssignmentSubmission,
    user: UserDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Envelope[SubmitResult]:
    """Submit a memo (or a revision) to the assignment; the same as /evaluations/submit."""
    result, replayed = submissions.submit_to(
        settings, user, assignment_id, body, request_id(), idempotency_key
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ok(result)


@router.get(
    "/assignments/{assignment_id}/analytics",
    response_model=Envelope[schemas.AssignmentAnalytics],
    responses={**ERRORS, **examples.ok(examples.ASSIGNMENT_ANALYTICS)},
)
def assignment_analytics(
    assignment_id: AssignmentId, user: UserDep
) -> Envelope[schemas.AssignmentAnalytics]:
    """Score distributions, weakest criteria, who has not submitted, AI–coach agreement."""
    with session_scope(write=False) as db:
        return ok(analytics.for_assignment(db, user, assignment_id))


@router.get(
    "/assignments/{assignment_id}/gradebook.csv",
    response_class=CsvResponse,
    responses={**ERRORS, **examples.csv(examples.GRADEBOOK)},
)
def assignment_gradebook(assignment_id: AssignmentId, user: UserDep) -> CsvResponse:
    """Every writer of the cohort for this assignment as CSV (coaches)."""
    with session_scope(write=False) as db:
        return csv_response(*gradebook.for_assignment(db, user, assignment_id))
