"""What a writer sees of a submission to an assignment, before and after review.

- Not released, feedback_release "after_review": the AI's scores, comments,
  strengths and opportunities are withheld; the evaluation says it awaits the
  coach's review (status, text and rubric stay visible).
- Not released, "immediate": the AI's feedback, marked awaiting coach review.
- Released: the top-level scores and comments are the coach-reviewed ones as
  of the last release (overall recomputed with the pinned rubric's weights),
  and `review` carries each criterion's AI score and whether the coach changed
  it. Edits after a release reach the writer only with the next release.

Memos not submitted to an assignment are returned exactly as before.

Every view a writer gets of a submission (GET /evaluations/{id}, the PDF
report, the revision comparison, progress, the chat coach's context) starts
from `writer_view` or `released_scores`, so none of them shows the AI's values
where the writer was given the coach's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, not_, select
from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import repository as repo
from memoai.cohorts.schemas import (
    EvaluationWithReview,
    SummaryPage,
    SummaryWithReview,
    WriterComment,
    WriterReview,
    WriterScore,
)
from memoai.evaluation import service as evaluation_service
from memoai.evaluation.schemas import CriterionScore, EvaluationPublic, SegmentFeedback
from memoai.models import Assignment, Evaluation, EvaluationStatus, Review, Submission
from memoai.platform.errors import Conflict
from memoai.platform.identity import Principal

AWAITING_WITHHELD = (
    "Awaiting coach review: your coach reviews the AI's feedback on this assignment "
    "before you see it."
)
AWAITING_SHOWN = (
    "AI feedback, awaiting coach review: your coach may still change these scores and comments."
)
RELEASED = "Reviewed by your coach."


def withheld() -> ColumnElement[bool]:
    """SQL: evaluations whose feedback the writer may not see yet."""
    return exists().where(
        Assignment.id == Evaluation.assignment_id,
        Assignment.feedback_release == "after_review",
        not_(
            exists()
            .where(Review.evaluation_id == Evaluation.id, Review.released_at.is_not(None))
            # Two levels down: tie it to the outer evaluation, not a fresh one.
            .correlate(Evaluation)
        ),
    )


def is_withheld(db: DbSession, evaluation_id: str) -> bool:
    return bool(
        db.scalar(select(withheld()).select_from(Evaluation).where(Evaluation.id == evaluation_id))
    )


def ensure_released(db: DbSession, evaluation: Evaluation) -> None:
    """Refuse what would show withheld feedback (PDF report, comparison, chat)."""
    if evaluation.assignment_id is not None and is_withheld(db, evaluation.id):
        raise Conflict(
            "This submission awaits your coach's review; its feedback is not available yet.",
            code="awaiting_coach_review",
            field="evaluation_id",
        )


def overlay(db: DbSession, public: EvaluationPublic) -> EvaluationWithReview:
    """The evaluation as its writer may see it."""
    base = dict(public)
    if public.assignment_id is None or public.status != EvaluationStatus.COMPLETED.value:
        return EvaluationWithReview(**base)
    assignment = repo.get_assignment(db, public.assignment_id)
    if assignment is None:
        return EvaluationWithReview(**base)
    review = repo.review_of(db, public.id)
    snapshot = review.released_snapshot if review is not None else None
    if snapshot is not None:
        return _released(base, assignment, snapshot)
    pending = WriterReview(
        status="awaiting_review",
        feedback_release=assignment.feedback_release,
        message=AWAITING_SHOWN if assignment.feedback_release == "immediate" else AWAITING_WITHHELD,
        released_at=None,
        release_count=0,
        overall_score=None,
        ai_overall_score=None,
        rubric_scores={},
        comments=[],
    )
    if assignment.feedback_release == "immediate":
        return EvaluationWithReview(
            **{**base, "notice": base["notice"] or AWAITING_SHOWN}, review=pending
        )
    return EvaluationWithReview(
        **{
            **base,
            "overall_score": None,
            "rubric_scores": {},
            "segment_feedback": [],
            "strengths": [],
            "opportunities": [],
            "notice": AWAITING_WITHHELD,
        },
        review=pending,
    )


def final_criteria(snapshot: dict[str, Any]) -> dict[str, CriterionScore]:
    """The released criterion scores, shaped like the evaluation's own `rubric_scores`."""
    result: dict[str, CriterionScore] = {}
    for name, value in snapshot.get("rubric_scores", {}).items():
        score = WriterScore(**value)
        if score.score is None:
            continue
        result[name] = CriterionScore(
            score=score.score,
            # An overridden score is explained by the coach's reason, not by
            # the AI's justification of the score it gave.
            justification=(
                score.reason if score.coach_override and score.reason else score.justification
            ),
            weight=score.weight,
        )
    return result


def released_scores(
    db: DbSession, evaluation_ids: Sequence[str]
) -> dict[str, tuple[float | None, dict[str, CriterionScore]]]:
    """evaluation id -> (final overall, final criterion scores) for each released review.

    The bulk form of `overlay` for views over many evaluations (progress);
    evaluations without a released review are not in the result.
    """
    return {
        evaluation_id: (
            review.released_snapshot.get("overall_score"),
            final_criteria(review.released_snapshot),
        )
        for evaluation_id, review in repo.reviews_for(db, evaluation_ids).items()
        if review.released_snapshot is not None
    }


def _released(
    base: dict[str, Any], assignment: Assignment, snapshot: dict[str, Any]
) -> EvaluationWithReview:
    scores = {
        name: WriterScore(**value) for name, value in snapshot.get("rubric_scores", {}).items()
    }
    comments = [WriterComment(**c) for c in snapshot.get("comments", [])]
    review = WriterReview(
        status="released",
        feedback_release=assignment.feedback_release,
        message=RELEASED,
        released_at=datetime.fromisoformat(snapshot["released_at"]),
        release_count=int(snapshot.get("release_count", 1)),
        overall_score=snapshot.get("overall_score"),
        ai_overall_score=snapshot.get("ai_overall_score"),
        rubric_scores=scores,
        comments=comments,
    )
    return EvaluationWithReview(
        **{
            **base,
            "overall_score": review.overall_score,
            "rubric_scores": final_criteria(snapshot),
            "segment_feedback": [
                SegmentFeedback(
                    segment=c.segment,
                    start=c.start,
                    end=c.end,
                    comment=c.comment,
                    questions=c.questions,
                )
                for c in comments
            ],
        },
        review=review,
    )


def writer_view(
    db: DbSession, evaluation: Evaluation, submission: Submission
) -> EvaluationWithReview:
    """An evaluation row as its writer may see it: what every writer-facing view starts from."""
    return overlay(db, evaluation_service.to_public(evaluation, submission))


def result(db: DbSession, principal: Principal, evaluation_id: str) -> EvaluationWithReview:
    """GET /evaluations/{id} for its owner."""
    return overlay(db, evaluation_service.result(db, principal, evaluation_id))


def list_own(
    db: DbSession | Connection,
    principal: Principal,
    *,
    limit: int,
    offset: int,
    status: str | None,
) -> SummaryPage:
    """GET /evaluations: withheld scores are blank until the coach releases them.

    Columns only, so it runs on a read connection as well as in a session."""
    page = evaluation_service.list_own(db, principal, limit=limit, offset=offset, status=status)
    in_assignments = [i for i in page.items if i.assignment_id]
    snapshots = repo.released_snapshots(db, [i.id for i in in_assignments])
    releases = repo.feedback_releases(
        db, {i.assignment_id for i in in_assignments if i.assignment_id}
    )
    items = []
    for item in page.items:
        fields = dict(item)
        if item.assignment_id in releases and item.status == EvaluationStatus.COMPLETED.value:
            snapshot = snapshots.get(item.id)
            if snapshot is not None:
                fields.update(overall_score=snapshot.get("overall_score"), review_status="released")
            else:
                fields["review_status"] = "awaiting_review"
                if releases[item.assignment_id] == "after_review":
                    fields["overall_score"] = None
        items.append(SummaryWithReview(**fields))
    return SummaryPage(items=items, total=page.total, limit=page.limit, offset=page.offset)
