"""Human review of AI feedback: what coach and writer see (the changes: `review_edits`).

The AI's values are never changed: they stay on the evaluation. A review (one
per submission, created by the coach's first change) holds the overrides by
criterion id, the edits and deletions of AI comments and the coach's own
comments, each change appended to `review_changes` (who, when, what). The
final overall score is the rubric-weighted mean of the final scores, with the
weights of the rubric pinned to the assignment. Releasing freezes what the
writer sees (`released_snapshot`); later edits stay invisible to the writer
until the next release.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import repository as repo
from memoai.cohorts import rubrics
from memoai.cohorts.access import cohort_access, visible_roles
from memoai.cohorts.schemas import (
    QueueItem,
    QueuePage,
    ReviewChange,
    ReviewComment,
    ReviewPublic,
    ReviewScore,
    UserRef,
)
from memoai.config.schemas import Criterion, Rubric
from memoai.evaluation.scoring import weighted_overall
from memoai.models import (
    Assignment,
    Cohort,
    Evaluation,
    EvaluationStatus,
    Review,
    Submission,
)
from memoai.models import ReviewComment as CommentRow
from memoai.platform.errors import Conflict, NotFound
from memoai.platform.identity import Principal
from memoai.platform.storable import storable

AI_PREFIX = "ai-"


@dataclass(frozen=True)
class Context:
    evaluation: Evaluation
    submission: Submission
    assignment: Assignment
    cohort: Cohort
    rubric: Rubric


@dataclass(frozen=True)
class Final:
    criterion: Criterion
    ai: int | None
    final: int | None
    justification: str
    override: dict[str, Any] | None


def review_missing() -> NotFound:
    return NotFound("Submission not found.", field="evaluation_id")


def context(db: DbSession, principal: Principal, evaluation_id: str) -> Context:
    """The submission, if the caller coaches its cohort (else 404), completed (else 409)."""
    found = repo.evaluation_with_submission(db, evaluation_id)
    if found is None or found[0].assignment_id is None:
        raise review_missing()
    evaluation, submission = found
    assignment = repo.get_assignment(db, evaluation.assignment_id or "")
    access = cohort_access(db, principal, assignment.cohort_id) if assignment else None
    if assignment is None or access is None or not access.manages:
        raise review_missing()
    if evaluation.status != EvaluationStatus.COMPLETED.value:
        raise Conflict(
            f"The submission is {evaluation.status}; only a completed evaluation can be reviewed.",
            code="evaluation_not_completed",
            details={"status": evaluation.status},
        )
    rubric = rubrics.from_snapshot(assignment.rubric_snapshot, assignment.rubric_version)
    return Context(evaluation, submission, assignment, access.cohort, rubric)


# ------------------------------------------------------------------ computing


def finals(rubric: Rubric, ai_scores: dict[str, Any] | None, review: Review | None) -> list[Final]:
    overrides = review.overrides if review is not None else {}
    result = []
    for criterion in rubric.criteria:
        entry = (ai_scores or {}).get(criterion.name) or {}
        ai = entry.get("score")
        override = overrides.get(criterion.id)
        result.append(
            Final(
                criterion=criterion,
                ai=ai,
                final=override["score"] if override else ai,
                justification=str(entry.get("justification", "")),
                override=override,
            )
        )
    return result


def overall(rubric: Rubric, scores: list[Final]) -> float | None:
    if any(f.final is None for f in scores):
        return None
    return weighted_overall(rubric, {f.criterion.name: float(f.final or 0) for f in scores})


def comment_views(
    evaluation: Evaluation, rows: list[CommentRow], names: dict[str, str]
) -> list[ReviewComment]:
    by_index = {r.ai_index: r for r in rows if r.source == "ai"}
    views = []
    for index, segment in enumerate(evaluation.segment_feedback or []):
        row = by_index.get(index)
        views.append(
            ReviewComment(
                id=f"{AI_PREFIX}{index}",
                source="ai",
                state="original" if row is None else "deleted" if row.deleted else "edited",
                start=segment["start"],
                end=segment["end"],
                segment=segment["segment"],
                comment=row.comment if row is not None else segment["comment"],
                questions=list(row.questions if row is not None else segment["questions"]),
                ai_comment=segment["comment"],
                author=names.get(row.author_id or "") if row is not None else None,
                updated_at=row.updated_at if row is not None else None,
            )
        )
    for row in rows:
        if row.source != "coach":
            continue
        views.append(
            ReviewComment(
                id=row.id,
                source="coach",
                state="deleted" if row.deleted else "added",
                start=row.start_offset,
                end=row.end_offset,
                segment=row.segment,
                comment=row.comment,
                questions=list(row.questions),
                ai_comment=None,
                author=names.get(row.author_id or ""),
                updated_at=row.updated_at,
            )
        )
    views.sort(key=lambda c: (c.start, c.end, c.source != "ai"))
    return views


def writer_snapshot(
    ctx: Context, review: Review | None, comments: list[ReviewComment], released_at: datetime
) -> dict[str, Any]:
    """What the writer sees after a release (and what review.released carries)."""
    scores = finals(ctx.rubric, ctx.evaluation.rubric_scores, review)
    return {
        "overall_score": overall(ctx.rubric, scores),
        "ai_overall_score": ctx.evaluation.overall_score,
        "rubric_scores": {
            f.criterion.name: {
                "score": f.final,
                "ai_score": f.ai,
                "coach_override": f.override is not None,
                "reason": f.override["reason"] if f.override else None,
                "justification": f.justification,
                "weight": f.criterion.weight,
            }
            for f in scores
        },
        "comments": [
            {
                "segment": c.segment,
                "start": c.start,
                "end": c.end,
                "comment": c.comment,
                "questions": c.questions,
                "source": c.source,
            }
            for c in comments
            if c.state != "deleted"
        ],
        "released_at": released_at.isoformat(),
        "release_count": (review.release_count if review else 0),
    }


# ------------------------------------------------------------------ reading


def view(db: DbSession, ctx: Context, review: Review | None) -> ReviewPublic:
    evaluation = ctx.evaluation
    rows = repo.comments_of(db, review.id) if review else []
    history = repo.changes_of(db, review.id) if review else []
    names = repo.usernames(
        db,
        [evaluation.user_id, review.released_by if review else None]
        + [r.author_id for r in rows]
        + [(o or {}).get("by") for o in (review.overrides.values() if review else [])],
    )
    scores = finals(ctx.rubric, evaluation.rubric_scores, review)
    return ReviewPublic(
        evaluation_id=evaluation.id,
        assignment_id=ctx.assignment.id,
        assignment_title=ctx.assignment.title,
        cohort_id=ctx.cohort.id,
        writer=(
            UserRef(id=evaluation.user_id, username=names.get(evaluation.user_id, ""))
            if evaluation.user_id
            else None
        ),
        status="not_started" if review is None else review.status,
        feedback_release=ctx.assignment.feedback_release,
        text_content=ctx.submission.text_content,
        language=evaluation.language,
        version_number=ctx.submission.version_number,
        submitted_at=evaluation.created_at,
        completed_at=evaluation.completed_at,
        llm_provider=evaluation.llm_provider,
        rubric=rubrics.public(ctx.assignment.rubric_id, ctx.rubric, ctx.assignment.rubric_version),
        ai_overall_score=evaluation.overall_score,
        final_overall_score=overall(ctx.rubric, scores),
        scores=[
            ReviewScore(
                criterion_id=f.criterion.id,
                criterion=f.criterion.name,
                weight=f.criterion.weight,
                ai_score=f.ai,
                final_score=f.final,
                overridden=f.override is not None,
                reason=f.override["reason"] if f.override else None,
                justification=f.justification,
                overridden_by=f.override.get("by_username") if f.override else None,
                overridden_at=datetime.fromisoformat(f.override["at"]) if f.override else None,
            )
            for f in scores
        ],
        comments=comment_views(evaluation, rows, names),
        strengths=evaluation.strengths or [],
        opportunities=evaluation.opportunities or [],
        released_at=review.released_at if review else None,
        released_by=names.get(review.released_by or "") if review else None,
        release_count=review.release_count if review else 0,
        unreleased_changes=bool(review and review.changed_since_release),
        history=[
            ReviewChange(
                id=h.id,
                action=h.action,
                actor=UserRef(id=h.actor_id, username=h.actor_username or "")
                if h.actor_id
                else None,
                at=h.created_at,
                details=h.details,
            )
            for h in history
        ],
    )


def get(db: DbSession, principal: Principal, evaluation_id: str) -> ReviewPublic:
    ctx = context(db, principal, evaluation_id)
    return view(db, ctx, repo.review_of(db, ctx.evaluation.id))


def queue(
    db: DbSession,
    principal: Principal,
    *,
    assignment_id: str | None,
    cohort_id: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> QueuePage:
    """Newest completed submissions of the caller's cohorts, oldest first."""
    if not all(storable(v) for v in (assignment_id or "", cohort_id or "")):
        return QueuePage(items=[], total=0, limit=limit, offset=offset)
    roles = visible_roles(db, principal)
    coached = None if roles is None else [c for c, r in roles.items() if r == "coach"]
    rows, total = repo.queue(
        db,
        coached,
        assignment_id=assignment_id,
        cohort_id=cohort_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    items = []
    for row in rows:
        rubric = rubrics.from_snapshot(
            row.assignment.rubric_snapshot, row.assignment.rubric_version
        )
        scores = finals(rubric, row.evaluation.rubric_scores, row.review)
        items.append(
            QueueItem(
                evaluation_id=row.evaluation.id,
                assignment_id=row.assignment.id,
                assignment_title=row.assignment.title,
                cohort_id=row.assignment.cohort_id,
                cohort_name=row.cohort_name,
                writer=UserRef(id=row.evaluation.user_id, username=row.writer_name or "")
                if row.evaluation.user_id
                else None,
                version_number=row.version_number,
                submitted_at=row.evaluation.created_at,
                completed_at=row.evaluation.completed_at,
                ai_overall_score=row.evaluation.overall_score,
                final_overall_score=overall(rubric, scores),
                review_status="not_started" if row.review is None else row.review.status,
                unreleased_changes=bool(row.review and row.review.changed_since_release),
            )
        )
    return QueuePage(items=items, total=total, limit=limit, offset=offset)
