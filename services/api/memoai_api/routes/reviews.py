"""Human review of AI feedback: the queue, overrides, comments and release (coaches)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from memoai.cohorts import review_edits, reviews, schemas
from memoai.platform.db import session_scope
from memoai_api import examples
from memoai_api.deps import JsonBody, SettingsDep, UserDep
from memoai_api.envelope import Envelope, ErrorEnvelope, ok
from memoai_api.routes import API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/reviews", tags=["reviews"])
EvaluationId = Annotated[str, Path(max_length=64, description="The submission's evaluation id")]
CriterionId = Annotated[str, Path(max_length=64, description="A criterion id of the rubric")]
CommentId = Annotated[str, Path(max_length=64, description='"ai-<n>" or a coach comment id')]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorEnvelope, "description": "Not logged in"},
    404: {"model": ErrorEnvelope, "description": "Not found, or not in a cohort you coach"},
    409: {"model": ErrorEnvelope, "description": "evaluation_not_completed"},
}
REVIEW = examples.ok(examples.REVIEW)


@router.get(
    "/queue",
    response_model=Envelope[schemas.QueuePage],
    responses={**ERRORS, **examples.ok(examples.QUEUE)},
)
def review_queue(
    user: UserDep,
    assignment_id: Annotated[str | None, Query(max_length=64)] = None,
    cohort_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[
        Literal["pending", "not_started", "draft", "released"] | None,
        Query(description="pending: not started, draft, or edited since released"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Envelope[schemas.QueuePage]:
    """Writers' newest completed submissions in the cohorts you coach, oldest first."""
    with session_scope(write=False) as db:
        return ok(
            reviews.queue(
                db,
                user,
                assignment_id=assignment_id,
                cohort_id=cohort_id,
                status=status,
                limit=limit,
                offset=offset,
            )
        )


@router.get(
    "/{evaluation_id}",
    response_model=Envelope[schemas.ReviewPublic],
    responses={**ERRORS, **REVIEW},
)
def get_review(evaluation_id: EvaluationId, user: UserDep) -> Envelope[schemas.ReviewPublic]:
    """The submission with the AI's and the final scores, comments and audit trail."""
    with session_scope(write=False) as db:
        return ok(reviews.get(db, user, evaluation_id))


@router.put(
    "/{evaluation_id}/scores/{criterion_id}",
    response_model=Envelope[schemas.ReviewPublic],
    dependencies=[JsonBody],
    responses={
        **ERRORS,
        422: {"model": ErrorEnvelope, "description": "Score off the scale, no reason"},
        **REVIEW,
    },
)
def override_score(
    evaluation_id: EvaluationId,
    criterion_id: CriterionId,
    body: schemas.ScoreOverride,
    user: UserDep,
    settings: SettingsDep,
) -> Envelope[schemas.ReviewPublic]:
    """Override one criterion's score, with a reason; the overall is recomputed."""
    with session_scope() as db:
        return ok(
            review_edits.override_score(db, settings, user, evaluation_id, criterion_id, body)
        )


@router.delete(
    "/{evaluation_id}/scores/{criterion_id}",
    response_model=Envelope[schemas.ReviewPublic],
    responses={**ERRORS, **REVIEW},
)
def revert_score(
    evaluation_id: EvaluationId, criterion_id: CriterionId, user: UserDep
) -> Envelope[schemas.ReviewPublic]:
    """Drop the override: the criterion's final score is the AI's again."""
    with session_scope() as db:
        return ok(review_edits.revert_score(db, user, evaluation_id, criterion_id))


@router.post(
    "/{evaluation_id}/comments",
    status_code=201,
    response_model=Envelope[schemas.ReviewPublic],
    dependencies=[JsonBody],
    responses={
        **ERRORS,
        422: {"model": ErrorEnvelope, "description": "offsets_out_of_range, segment_mismatch"},
        **examples.ok(examples.REVIEW, 201),
    },
)
def add_comment(
    evaluation_id: EvaluationId, body: schemas.CommentCreate, user: UserDep, settings: SettingsDep
) -> Envelope[schemas.ReviewPublic]:
    """Add your own comment on text_content[start:end] (which must equal segment)."""
    with session_scope() as db:
        return ok(review_edits.add_comment(db, settings, user, evaluation_id, body))


@router.patch(
    "/{evaluation_id}/comments/{comment_id}",
    response_model=Envelope[schemas.ReviewPublic],
    dependencies=[JsonBody],
    responses={
        **ERRORS,
        409: {"model": ErrorEnvelope, "description": "comment_deleted, evaluation_not_completed"},
        **REVIEW,
    },
)
def edit_comment(
    evaluation_id: EvaluationId,
    comment_id: CommentId,
    body: schemas.CommentEdit,
    user: UserDep,
    settings: SettingsDep,
) -> Envelope[schemas.ReviewPublic]:
    """Edit an AI comment or your own (its text and questions)."""
    with session_scope() as db:
        return ok(review_edits.edit_comment(db, settings, user, evaluation_id, comment_id, body))


@router.delete(
    "/{evaluation_id}/comments/{comment_id}",
    response_model=Envelope[schemas.ReviewPublic],
    responses={**ERRORS, **REVIEW},
)
def delete_comment(
    evaluation_id: EvaluationId, comment_id: CommentId, user: UserDep
) -> Envelope[schemas.ReviewPublic]:
    """Delete an AI comment or your own: the writer will not see it."""
    with session_scope() as db:
        return ok(review_edits.delete_comment(db, user, evaluation_id, comment_id))


@router.post(
    "/{evaluation_id}/release",
    response_model=Envelope[schemas.ReviewPublic],
    responses={
        **ERRORS,
        **examples.ok({**examples.REVIEW, "status": "released", "release_count": 1}),
    },
)
def release(evaluation_id: EvaluationId, user: UserDep) -> Envelope[schemas.ReviewPublic]:
    """Release the reviewed feedback to the writer (again after further edits)."""
    with session_scope() as db:
        return ok(review_edits.release(db, user, evaluation_id))
