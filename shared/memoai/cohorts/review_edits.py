"""Coach changes to a review: score overrides, comment edits and additions, release.

Each change locks the submission's review (created by the first change),
recomputes the final overall score and appends who changed what to
`review_changes`; reading and the writer's snapshot live in `cohorts.reviews`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import events
from memoai.cohorts import repository as repo
from memoai.cohorts.reviews import (
    AI_PREFIX,
    Context,
    comment_views,
    context,
    finals,
    overall,
    view,
    writer_snapshot,
)
from memoai.cohorts.schemas import (
    CommentCreate,
    CommentEdit,
    ReviewPublic,
    ScoreOverride,
)
from memoai.config import Settings
from memoai.config.schemas import Criterion
from memoai.models import (
    Review,
    utcnow,
)
from memoai.models import ReviewComment as CommentRow
from memoai.platform.errors import Conflict, NotFound, ValidationFailed
from memoai.platform.identity import Principal


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
