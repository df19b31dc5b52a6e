"""Compare a revision with the version before it: text diff, score deltas, questions.

A previous question counts as addressed when the new version rewrote the
passage it was anchored to, or when the added text clearly covers it (shares
several content words with the question); a question asking for a number
also needs new figures. This is a
deterministic heuristic, so it works with every provider, offline included.

Both versions are compared as their writer sees them (`cohorts.feedback`):
a version whose coach released the review counts with the coach's final
scores and comments; a version whose feedback is still withheld from the
writer has no scores to compare (its criteria show as "new" in the next one).
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import feedback
from memoai.evaluation import repository as repo
from memoai.evaluation.schemas import EvaluationPublic, SegmentFeedback
from memoai.evaluation.text import sentences, words
from memoai.models import Evaluation, EvaluationStatus, Submission
from memoai.platform.errors import NotFound
from memoai.platform.identity import Principal

_STOP = frozenset(
    (
        "what",
        "which",
        "when",
        "where",
        "will",
        "would",
        "could",
        "should",
        "this",
        "that",
        "these",
        "those",
        "with",
        "your",
        "their",
        "there",
        "about",
        "have",
        "does",
        "from",
        "into",
        "than",
        "then",
        "them",
        "they",
        "were",
        "been",
        "being",
        "more",
        "most",
        "such",
        "only",
        "also",
        "what's",
        "cómo",
        "qué",
        "cuál",
        "cuáles",
        "para",
        "como",
        "esta",
        "este",
        "estos",
        "estas",
        "pero",
        "sobre",
        "desde",
        "donde",
        "cuando",
        "quién",
        "tiene",
        "tienen",
        "sería",
        "podría",
        "entre",
        "todo",
        "todos",
        "cada",
    )
)


class DiffOp(BaseModel):
    op: Literal["equal", "insert", "delete", "replace"]
    old: str
    new: str


class CriterionDelta(BaseModel):
    previous: int | None
    current: int | None
    delta: int | None
    direction: Literal["up", "down", "same", "new", "removed"]


class QuestionStatus(BaseModel):
    question: str
    segment: str
    status: Literal["addressed", "open"]
    evidence: str | None = None


class ComparisonPublic(BaseModel):
    evaluation_id: str
    previous_evaluation_id: str
    version_number: int
    previous_version_number: int
    overall: dict[str, float | None]
    criteria: dict[str, CriterionDelta]
    diff: list[DiffOp]
    words_added: int
    words_removed: int
    questions: list[QuestionStatus]
    questions_addressed: int


def compare(db: DbSession, principal: Principal, evaluation_id: str) -> ComparisonPublic:
    found = repo.get_owned_with_submission(db, principal, evaluation_id)
    if found is None:
        raise NotFound("Evaluation not found.", field="evaluation_id")
    current, submission = found
    feedback.ensure_released(db, current)
    if submission.previous_submission_id is None:
        raise NotFound("This evaluation is of a first version; there is nothing to compare.")
    previous_row = db.execute(
        select(Evaluation, Submission)
        .join(Submission, Submission.id == Evaluation.submission_id)
        .where(
            Evaluation.submission_id == submission.previous_submission_id,
            Evaluation.status == EvaluationStatus.COMPLETED.value,
            principal.owns(Evaluation),
        )
        .order_by(Evaluation.completed_at.desc())
        .limit(1)
    ).first()
    if previous_row is None:
        raise NotFound("The previous version has no completed evaluation to compare with.")
    previous, previous_submission = previous_row
    return build(
        feedback.writer_view(db, current, submission),
        feedback.writer_view(db, previous, previous_submission),
    )


def build(current: EvaluationPublic, previous: EvaluationPublic) -> ComparisonPublic:
    """Compare two versions as their writer sees them."""
    diff = text_diff(previous.text_content, current.text_content)
    added = " ".join(op.new for op in diff if op.op in ("insert", "replace"))
    removed = " ".join(op.old for op in diff if op.op in ("delete", "replace"))
    questions = question_status(previous.segment_feedback, current.text_content, added)
    return ComparisonPublic(
        evaluation_id=current.id,
        previous_evaluation_id=previous.id,
        version_number=current.version_number,
        previous_version_number=previous.version_number,
        overall={
            "previous": previous.overall_score,
            "current": current.overall_score,
            "delta": (
                round(current.overall_score - previous.overall_score, 2)
                if current.overall_score is not None and previous.overall_score is not None
                else None
            ),
        },
        criteria=criterion_deltas(
            {name: item.model_dump() for name, item in previous.rubric_scores.items()},
            {name: item.model_dump() for name, item in current.rubric_scores.items()},
        ),
        diff=diff,
        words_added=len(words(added)),
        words_removed=len(words(removed)),
        questions=questions,
        questions_addressed=sum(q.status == "addressed" for q in questions),
    )


def criterion_deltas(
    previous: dict[str, Any], current: dict[str, Any]
) -> dict[str, CriterionDelta]:
    result: dict[str, CriterionDelta] = {}
    for name in [*current, *(n for n in previous if n not in current)]:
        before = previous.get(name, {}).get("score")
        after = current.get(name, {}).get("score")
        if before is None:
            direction: Literal["up", "down", "same", "new", "removed"] = "new"
        elif after is None:
            direction = "removed"
        else:
            direction = "up" if after > before else "down" if after < before else "same"
        delta = after - before if before is not None and after is not None else None
        result[name] = CriterionDelta(
            previous=before, current=after, delta=delta, direction=direction
        )
    return result


def text_diff(old: str, new: str) -> list[DiffOp]:
    """Sentence-level diff: memos are edited a sentence or paragraph at a time."""
    a = [s.text for s in sentences(old)]
    b = [s.text for s in sentences(new)]
    ops: list[DiffOp] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        ops.append(DiffOp(op=tag, old="\n".join(a[i1:i2]), new="\n".join(b[j1:j2])))
    return ops


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in words(text) if len(w) >= 4 and w.lower() not in _STOP}


_NUMBER = re.compile(r"\d")


def question_status(
    comments: list[SegmentFeedback], new_text: str, added: str
) -> list[QuestionStatus]:
    """The previous version's questions (as its writer saw them), addressed or open."""
    added_words = _content_words(added)
    result: list[QuestionStatus] = []
    for item in comments:
        segment = item.segment
        passage_changed = segment not in new_text
        for question in item.questions:
            overlap = _content_words(question) & added_words
            addressed = passage_changed or len(overlap) >= 3
            # Questions asking for a number are answered only by new figures.
            if addressed and re.search(r"(?i)number|figure|cifra|how much|cuánt", question):
                addressed = bool(_NUMBER.search(added))
            result.append(
                QuestionStatus(
                    question=question,
                    segment=segment,
                    status="addressed" if addressed else "open",
                    evidence=", ".join(sorted(overlap)[:5]) or None,
                )
            )
    return result
