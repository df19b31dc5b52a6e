"""Human review of AI feedback: overrides, comment edits, coach comments, release.

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

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import events, rubrics
from memoai.cohorts import repository as repo
from memoai.cohorts.access import cohort_access, visible_roles
from memoai.cohorts.schemas import (
    CommentCreate,
    CommentEdit,
    QueueItem,
    QueuePage,
    ReviewChange,
    ReviewComment,
    ReviewPublic,
    ReviewScore,
    ScoreOverride,
    UserRef,
)
from memoai.config import Settings
from memoai.config.schemas import Criterion, Rubric
from memoai.evaluation.scoring import weighted_overall
from memoai.models import (
    Assignment,
    Cohort,
    Evaluation,
    EvaluationStatus,
    Review,
    Submission,
    utcnow,
)
from memoai.models import ReviewComment as CommentRow
from memoai.platform.errors import Conflict, NotFound, ValidationFailed
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


def _missing() -> NotFound:
    return NotFound("Submission not found.", field="evaluation_id")


def context(db: DbSession, principal: Principal, evaluation_id: str) -> Context:
    """The submission, if the caller coaches its cohort (else 404), completed (else 409)."""
    found = repo.evaluation_with_submission(db, evaluation_id)
    if found is None or found[0].assignment_id is None:
        raise _missing()
    evaluation, submission = found
    assignment = repo.get_assignment(db, evaluation.assignment_id or "")
    access = cohort_access(db, principal, assignment.cohort_id) if assignment else None
    if assignment is None or access is None or not access.manages:
        raise _missing()
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


# ------------------------------------------------------------------ changing


def _open(db: DbSession, ctx: Context, principal: Principal) -> Review:
    """The submission's review, locked for this change; created on the first one."""
    review = repo.review_of(db, ctx.evaluation.id, for_update=True)
    if review is not None:
        return review
    try:
        with db.begin_nested():
            return repo.add_review(db, ctx.evaluation.id, principal.user_id)
    except IntegrityError:  # another coach opened it at the same moment
        review = repo.review_of(db, ctx.evaluation.id, for_update=True)
        assert review is not None
        return review


def _changed(
    db: DbSession,
    ctx: Context,
    review: Review,
    principal: Principal,
    action: str,
    details: dict[str, Any],
) -> ReviewPublic:
    review.final_overall = overall(
        ctx.rubric, finals(ctx.rubric, ctx.evaluation.rubric_scores, review)
    )
    if review.release_count:
        review.changed_since_release = True
    repo.add_change(
        db,
        review_id=review.id,
        actor_id=principal.user_id,
        actor_username=principal.username,
        action=action,
        details=details,
    )
    review.updated_at = utcnow()
    db.flush()
    return view(db, ctx, review)


def _criterion(ctx: Context, criterion_id: str) -> Criterion:
    for criterion in ctx.rubric.criteria:
        if criterion.id == criterion_id:
            return criterion
    raise NotFound(
        "The assignment's rubric has no such criterion.",
        field="criterion_id",
        details={"criteria": [c.id for c in ctx.rubric.criteria]},
    )


def override_score(
    db: DbSession,
    settings: Settings,
    principal: Principal,
    evaluation_id: str,
    criterion_id: str,
    body: ScoreOverride,
) -> ReviewPublic:
    ctx = context(db, principal, evaluation_id)
    criterion = _criterion(ctx, criterion_id)
    scale = ctx.rubric.scale
    if not scale.min <= body.score <= scale.max:
        raise ValidationFailed(
            f"The score must be a level of the rubric's scale, {scale.min} to {scale.max}.",
            field="score",
            details={"min": scale.min, "max": scale.max},
        )
    reason = body.reason.strip()
    limit = settings.backend.cohorts.max_reason_length
    if not reason:
        raise ValidationFailed("An override needs a reason.", field="reason")
    if len(reason) > limit:
        raise ValidationFailed(
            f"The reason is {len(reason):,} characters; the limit is {limit:,}.",
            field="reason",
            details={"max_length": limit},
        )
    review = _open(db, ctx, principal)
    before = {f.criterion.id: f for f in finals(ctx.rubric, ctx.evaluation.rubric_scores, review)}
    now = utcnow()
    review.overrides = {
        **review.overrides,
        criterion.id: {
            "score": body.score,
            "reason": reason,
            "by": principal.user_id,
            "by_username": principal.username,
            "at": now.isoformat(),
        },
    }
    return _changed(
        db,
        ctx,
        review,
        principal,
        "score_override",
        {
            "criterion_id": criterion.id,
            "criterion": criterion.name,
            "ai": before[criterion.id].ai,
            "before": before[criterion.id].final,
            "after": body.score,
            "reason": reason,
        },
    )


def revert_score(
    db: DbSession, principal: Principal, evaluation_id: str, criterion_id: str
) -> ReviewPublic:
    ctx = context(db, principal, evaluation_id)
    criterion = _criterion(ctx, criterion_id)
    review = repo.review_of(db, ctx.evaluation.id, for_update=True)
    if review is None or criterion.id not in review.overrides:
        return view(db, ctx, review)  # nothing to revert: no change, nothing audited
    removed = review.overrides[criterion.id]
    review.overrides = {k: v for k, v in review.overrides.items() if k != criterion.id}
    ai = next(
        f.ai
        for f in finals(ctx.rubric, ctx.evaluation.rubric_scores, review)
        if f.criterion.id == criterion.id
    )
    return _changed(
        db,
        ctx,
        review,
        principal,
        "score_revert",
        {
            "criterion_id": criterion.id,
            "criterion": criterion.name,
            "ai": ai,
            "before": removed["score"],
            "after": ai,
            "reason_removed": removed["reason"],
        },
    )


def _comment_text(settings: Settings, text: str, field: str = "comment") -> str:
    value = text.strip()
    limit = settings.backend.cohorts.max_comment_length
    if not value:
        raise ValidationFailed("The comment is empty.", field=field)
    if len(value) > limit:
        raise ValidationFailed(
            f"The comment is {len(value):,} characters; the limit is {limit:,}.",
            field=field,
            details={"max_length": limit},
        )
    return value


def add_comment(
    db: DbSession, settings: Settings, principal: Principal, evaluation_id: str, body: CommentCreate
) -> ReviewPublic:
    ctx = context(db, principal, evaluation_id)
    text = ctx.submission.text_content
    if not body.start < body.end <= len(text):
        raise ValidationFailed(
            f"start and end must satisfy 0 <= start < end <= {len(text)} (the memo's length in "
            "Unicode code points).",
            code="offsets_out_of_range",
            field="end",
            details={"length": len(text)},
        )
    if text[body.start : body.end] != body.segment:
        raise ValidationFailed(
            "segment is not the memo's text between start and end (offsets count Unicode code "
            "points, not UTF-16 units).",
            code="segment_mismatch",
            field="segment",
            details={"text_at_offsets": text[body.start : body.end][:200]},
        )
    comment = _comment_text(settings, body.comment)
    review = _open(db, ctx, principal)
    row = CommentRow(
        review_id=review.id,
        source="coach",
        start_offset=body.start,
        end_offset=body.end,
        segment=body.segment,
        comment=comment,
        questions=list(body.questions),
        deleted=False,
        author_id=principal.user_id,
    )
    db.add(row)
    db.flush()
    return _changed(
        db,
        ctx,
        review,
        principal,
        "comment_add",
        {"comment_id": row.id, "start": body.start, "end": body.end, "comment": comment},
    )


def _ai_index(ctx: Context, comment_id: str) -> int | None:
    if not comment_id.startswith(AI_PREFIX):
        return None
    digits = comment_id[len(AI_PREFIX) :]
    if not digits.isdigit() or len(digits) > 6:
        raise NotFound("Comment not found.", field="comment_id")
    index = int(digits)
    if index >= len(ctx.evaluation.segment_feedback or []):
        raise NotFound("Comment not found.", field="comment_id")
    return index


def _target(
    db: DbSession, ctx: Context, principal: Principal, comment_id: str
) -> tuple[Review, CommentRow]:
    """The comment's row, creating the override row of an AI comment on first change."""
    index = _ai_index(ctx, comment_id)
    if index is None:
        review = repo.review_of(db, ctx.evaluation.id, for_update=True)
        row = repo.comment(db, review.id, comment_id) if review else None
        if review is None or row is None:
            raise NotFound("Comment not found.", field="comment_id")
        return review, row
    review = _open(db, ctx, principal)
    row = repo.ai_comment(db, review.id, index)
    if row is None:
        segment = (ctx.evaluation.segment_feedback or [])[index]
        row = CommentRow(
            review_id=review.id,
            source="ai",
            ai_index=index,
            start_offset=segment["start"],
            end_offset=segment["end"],
            segment=segment["segment"],
            comment=segment["comment"],
            questions=list(segment["questions"]),
            deleted=False,
            author_id=principal.user_id,
        )
        db.add(row)
        db.flush()
    return review, row


def edit_comment(
    db: DbSession,
    settings: Settings,
    principal: Principal,
    evaluation_id: str,
    comment_id: str,
    body: CommentEdit,
) -> ReviewPublic:
    ctx = context(db, principal, evaluation_id)
    review, row = _target(db, ctx, principal, comment_id)
    if row.deleted:
        raise Conflict("This comment was deleted.", code="comment_deleted", field="comment_id")
    before = {"comment": row.comment, "questions": list(row.questions)}
    if body.comment is not None:
        row.comment = _comment_text(settings, body.comment)
    if body.questions is not None:
        row.questions = list(body.questions)
    row.author_id = principal.user_id
    row.updated_at = utcnow()
    return _changed(
        db,
        ctx,
        review,
        principal,
        "comment_edit",
        {
            "comment_id": comment_id,
            "source": row.source,
            "before": before,
            "after": {"comment": row.comment, "questions": list(row.questions)},
        },
    )


def delete_comment(
    db: DbSession, principal: Principal, evaluation_id: str, comment_id: str
) -> ReviewPublic:
    ctx = context(db, principal, evaluation_id)
    review, row = _target(db, ctx, principal, comment_id)
    if row.deleted:
        return view(db, ctx, review)  # already gone: nothing audited twice
    row.deleted = True
    row.author_id = principal.user_id
    row.updated_at = utcnow()
    return _changed(
        db,
        ctx,
        review,
        principal,
        "comment_delete",
        {"comment_id": comment_id, "source": row.source, "comment": row.comment},
    )


def release(db: DbSession, principal: Principal, evaluation_id: str) -> ReviewPublic:
    """Show the writer the reviewed feedback (again, after further edits)."""
    ctx = context(db, principal, evaluation_id)
    review = _open(db, ctx, principal)
    now = utcnow()
    review.release_count += 1
    names = repo.usernames(db, [r.author_id for r in repo.comments_of(db, review.id)])
    snapshot = writer_snapshot(
        ctx, review, comment_views(ctx.evaluation, repo.comments_of(db, review.id), names), now
    )
    review.status = "released"
    review.released_at = now
    review.released_by = principal.user_id
    review.released_snapshot = snapshot
    review.changed_since_release = False
    review.final_overall = snapshot["overall_score"]
    review.updated_at = now
    overridden = [
        f.criterion.id
        for f in finals(ctx.rubric, ctx.evaluation.rubric_scores, review)
        if f.override
    ]
    repo.add_change(
        db,
        review_id=review.id,
        actor_id=principal.user_id,
        actor_username=principal.username,
        action="release",
        details={
            "release_count": review.release_count,
            "overall_score": snapshot["overall_score"],
            "ai_overall_score": snapshot["ai_overall_score"],
            "overridden": overridden,
        },
    )
    db.flush()
    events.review_released(
        db,
        events.ReviewReleased(
            evaluation_id=ctx.evaluation.id,
            assignment_id=ctx.assignment.id,
            writer_id=ctx.evaluation.user_id,
            released_by=principal.user_id,
            payload={
                "evaluation_id": ctx.evaluation.id,
                "assignment_id": ctx.assignment.id,
                "assignment_title": ctx.assignment.title,
                "cohort_id": ctx.cohort.id,
                "writer_id": ctx.evaluation.user_id,
                "released_at": now.isoformat(),
                "release_count": review.release_count,
                "overall_score": snapshot["overall_score"],
                "ai_overall_score": snapshot["ai_overall_score"],
                "rubric_scores": snapshot["rubric_scores"],
            },
        ),
    )
    return view(db, ctx, review)
