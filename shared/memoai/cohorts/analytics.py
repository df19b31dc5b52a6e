"""Cohort analytics: where the writers are weak, how they progress, and how far
the coaches agree with the AI.

Definitions (also in docs/api.md):
- A writer's *submission* to an assignment is their newest evaluation for it;
  its scores are those of their newest *completed* one. Only current writers
  of the cohort count.
- *Final* scores are the coach's where overridden, else the AI's (the review's
  current state; the writer sees them only once released).
- *Reviewed* submissions are those whose review was released at least once;
  agreement is measured on them: per criterion the mean absolute difference
  between the final and the AI score, and the share of criterion scores where
  the two differ.
- Means and differences are rounded to 2 decimals, shares to 3.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import repository as repo
from memoai.cohorts import rubrics
from memoai.cohorts.access import require_assignment, require_coach
from memoai.cohorts.reviews import Final, finals, overall
from memoai.cohorts.schemas import (
    Agreement,
    AssignmentAnalytics,
    AssignmentRow,
    CohortAnalytics,
    CriterionAgreement,
    CriterionStats,
    HistogramBin,
    OverallStats,
    Progress,
    ProgressPoint,
    UserRef,
    WeakCriterion,
    WriterProgress,
    WriterScorePoint,
)
from memoai.config.schemas import Rubric
from memoai.models import Assignment, EvaluationStatus, Review
from memoai.platform.identity import Principal

WEAKEST = 3


@dataclass(frozen=True)
class Scored:
    assignment: Assignment
    writer: repo.Person
    row: repo.SubmittedRow
    review: Review | None
    finals: list[Final]
    overall: float | None

    @property
    def reviewed(self) -> bool:
        return self.review is not None and self.review.released_snapshot is not None


@dataclass(frozen=True)
class Collected:
    writers: list[repo.Person]
    submitted: dict[str, set[str]]  # assignment id -> writer ids with any submission
    scored: list[Scored]
    rubrics: dict[str, Rubric]  # assignment id -> pinned rubric


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def collect(db: DbSession, assignments: list[Assignment], writers: list[repo.Person]) -> Collected:
    ids = [a.id for a in assignments]
    writer_ids = {w.id for w in writers}
    by_id = {w.id: w for w in writers}
    rows = [r for r in repo.submissions(db, ids) if r.user_id in writer_ids]
    submitted: dict[str, set[str]] = {a: set() for a in ids}
    newest_completed: dict[tuple[str, str], repo.SubmittedRow] = {}
    for row in rows:  # oldest first, so the last one kept is the newest
        assert row.user_id is not None
        submitted[row.assignment_id].add(row.user_id)
        if row.status == EvaluationStatus.COMPLETED.value:
            newest_completed[(row.assignment_id, row.user_id)] = row
    reviews = repo.reviews_for(db, [r.evaluation_id for r in newest_completed.values()])
    pinned = {a.id: rubrics.from_snapshot(a.rubric_snapshot, a.rubric_version) for a in assignments}
    by_assignment = {a.id: a for a in assignments}
    scored = []
    for (assignment_id, user_id), row in newest_completed.items():
        review = reviews.get(row.evaluation_id)
        rubric = pinned[assignment_id]
        values = finals(rubric, row.rubric_scores, review)
        scored.append(
            Scored(
                assignment=by_assignment[assignment_id],
                writer=by_id[user_id],
                row=row,
                review=review,
                finals=values,
                overall=overall(rubric, values),
            )
        )
    return Collected(writers=writers, submitted=submitted, scored=scored, rubrics=pinned)


def _criteria(
    scored: list[Scored], scales: dict[str, tuple[int, int, str]]
) -> list[CriterionStats]:
    """Per criterion id: histogram of final scores (one bin per scale point) and means."""
    finals_by: dict[str, list[int]] = {cid: [] for cid in scales}
    ai_by: dict[str, list[int]] = {cid: [] for cid in scales}
    for item in scored:
        for f in item.finals:
            if f.final is not None:
                finals_by[f.criterion.id].append(f.final)
            if f.ai is not None:
                ai_by[f.criterion.id].append(f.ai)
    stats = []
    for cid, (low, high, name) in scales.items():
        values = finals_by[cid]
        stats.append(
            CriterionStats(
                criterion_id=cid,
                criterion=name,
                n=len(values),
                mean=_mean([float(v) for v in values]),
                ai_mean=_mean([float(v) for v in ai_by[cid]]),
                histogram=[
                    HistogramBin(score=level, count=values.count(level))
                    for level in range(low, high + 1)
                ],
            )
        )
    return stats


def _weakest(stats: list[CriterionStats]) -> list[WeakCriterion]:
    ranked = sorted(
        (s for s in stats if s.mean is not None),
        key=lambda s: (s.mean, s.criterion.casefold(), s.criterion_id),
    )
    return [
        WeakCriterion(criterion_id=s.criterion_id, criterion=s.criterion, mean=s.mean or 0.0)
        for s in ranked[:WEAKEST]
    ]


def _agreement(scored: list[Scored], names: dict[str, str]) -> Agreement:
    reviewed = [s for s in scored if s.reviewed]
    diffs: dict[str, list[int]] = {cid: [] for cid in names}
    for item in reviewed:
        for f in item.finals:
            if f.final is not None and f.ai is not None:
                diffs[f.criterion.id].append(abs(f.final - f.ai))
    every = [d for values in diffs.values() for d in values]
    overridden = sum(1 for d in every if d)
    return Agreement(
        reviewed=len(reviewed),
        criterion_scores=len(every),
        overridden=overridden,
        override_share=round(overridden / len(every), 3) if every else None,
        mean_absolute_difference=_mean([float(d) for d in every]),
        criteria=[
            CriterionAgreement(
                criterion_id=cid,
                criterion=names[cid],
                n=len(values),
                mean_absolute_difference=_mean([float(d) for d in values]),
                overridden=sum(1 for d in values if d),
            )
            for cid, values in diffs.items()
        ],
    )


def _scales(
    assignments: list[Assignment], pinned: dict[str, Rubric]
) -> dict[str, tuple[int, int, str]]:
    """criterion id -> (lowest level, highest level, newest name) over these assignments."""
    found: dict[str, tuple[int, int, str]] = {}
    for assignment in assignments:  # by due date: the newest name wins
        rubric = pinned[assignment.id]
        for c in rubric.criteria:
            low, high, _ = found.get(c.id, (rubric.scale.min, rubric.scale.max, c.name))
            found[c.id] = (min(low, rubric.scale.min), max(high, rubric.scale.max), c.name)
    return found


def _refs(people: list[repo.Person]) -> list[UserRef]:
    return [UserRef(id=p.id, username=p.username) for p in people]


def for_assignment(db: DbSession, principal: Principal, assignment_id: str) -> AssignmentAnalytics:
    assignment, _access = require_assignment(db, principal, assignment_id, coach=True)
    writers = repo.writers(db, [assignment.cohort_id])[assignment.cohort_id]
    data = collect(db, [assignment], writers)
    scales = _scales([assignment], data.rubrics)
    stats = _criteria(data.scored, scales)
    finals_overall = [s.overall for s in data.scored if s.overall is not None]
    ai_overall = [s.row.overall_score for s in data.scored if s.row.overall_score is not None]
    done = data.submitted[assignment.id]
    return AssignmentAnalytics(
        assignment_id=assignment.id,
        title=assignment.title,
        due_at=assignment.due_at,
        rubric_id=assignment.rubric_id,
        rubric_version=assignment.rubric_version,
        writers=len(writers),
        submitted=len(done),
        reviewed=sum(1 for s in data.scored if s.reviewed),
        not_submitted=_refs([w for w in writers if w.id not in done]),
        overall=OverallStats(
            n=len(finals_overall), mean=_mean(finals_overall), ai_mean=_mean(ai_overall)
        ),
        criteria=stats,
        weakest_criteria=_weakest(stats),
        agreement=_agreement(data.scored, {cid: v[2] for cid, v in scales.items()}),
    )


def for_cohort(db: DbSession, principal: Principal, cohort_id: str) -> CohortAnalytics:
    access = require_coach(db, principal, cohort_id)
    assignments = repo.assignments_of_cohort(db, access.cohort.id)
    writers = repo.writers(db, [access.cohort.id])[access.cohort.id]
    data = collect(db, assignments, writers)
    scales = _scales(assignments, data.rubrics)
    stats = _criteria(data.scored, scales)
    by_assignment: dict[str, list[Scored]] = {a.id: [] for a in assignments}
    for item in data.scored:
        by_assignment[item.assignment.id].append(item)
    rows = []
    points = []
    for assignment in assignments:
        items = by_assignment[assignment.id]
        done = data.submitted[assignment.id]
        final_values = [s.overall for s in items if s.overall is not None]
        rows.append(
            AssignmentRow(
                assignment_id=assignment.id,
                title=assignment.title,
                due_at=assignment.due_at,
                submitted=len(done),
                reviewed=sum(1 for s in items if s.reviewed),
                not_submitted=_refs([w for w in writers if w.id not in done]),
                mean=_mean(final_values),
                ai_mean=_mean(
                    [s.row.overall_score for s in items if s.row.overall_score is not None]
                ),
            )
        )
        points.append(
            ProgressPoint(
                assignment_id=assignment.id,
                title=assignment.title,
                due_at=assignment.due_at,
                n=len(final_values),
                mean=_mean(final_values),
            )
        )
    overall_of = {(s.assignment.id, s.writer.id): s.overall for s in data.scored}
    return CohortAnalytics(
        cohort_id=access.cohort.id,
        name=access.cohort.name,
        writers=len(writers),
        assignments=rows,
        criteria=stats,
        weakest_criteria=_weakest(stats),
        progress=Progress(
            cohort=points,
            writers=[
                WriterProgress(
                    writer=UserRef(id=w.id, username=w.username),
                    scores=[
                        WriterScorePoint(assignment_id=a.id, overall=overall_of.get((a.id, w.id)))
                        for a in assignments
                    ],
                )
                for w in writers
            ],
        ),
        agreement=_agreement(data.scored, {cid: v[2] for cid, v in scales.items()}),
    )
