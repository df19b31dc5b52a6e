"""Progress over time for one writer, computed from their evaluation history.

Scores are the ones the writer sees (`cohorts.feedback`): a submission whose
coach released the review counts with the coach's final overall and criterion
scores; one whose feedback is withheld until the coach's review is left out.

The result is cached per caller and range in each API process. The cache key
carries the caller's newest completion time, count, newest release of a coach
review and number of released reviews, and the live configuration version, so
a new evaluation, a coach's (re-)release or a rubric change makes the next
request compute afresh in every process, without invalidation messages. Entries expire after
`performance.caching.progress_cache_ttl` and the cache is bounded by
`max_size` (least recently used out first).
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from memoai.cohorts import feedback
from memoai.config import Settings, business_config
from memoai.models import Evaluation, EvaluationStatus, Review, Submission, utcnow
from memoai.platform.identity import Principal

Range = Literal["week", "month", "quarter", "all"]
RANGE_DAYS: dict[str, int | None] = {"week": 7, "month": 30, "quarter": 91, "all": None}


class TrendPoint(BaseModel):
    evaluation_id: str
    completed_at: datetime
    overall_score: float
    title: str | None
    version_number: int
    lineage_id: str


class CriterionTrend(BaseModel):
    points: list[dict[str, Any]]  # {evaluation_id, completed_at, score}
    first: float
    latest: float
    change: float
    average: float


class FrequencyPoint(BaseModel):
    period_start: datetime
    count: int


class ProgressPublic(BaseModel):
    range: Range
    evaluations: int
    overall_trends: list[TrendPoint]
    rubric_improvements: dict[str, CriterionTrend]
    submission_frequency: list[FrequencyPoint]
    frequency_unit: Literal["day", "week"]
    strongest_criteria: list[str]
    weakest_criteria: list[str]
    average_overall: float | None
    best_overall: float | None
    overall_change: float | None
    scale: dict[str, int]
    text_summary: str


class _Cache:
    def __init__(self, max_size: int, ttl: float) -> None:
        self.max_size = max_size
        self.ttl = ttl
        self._data: OrderedDict[tuple[Any, ...], tuple[float, ProgressPublic]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> ProgressPublic | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or time.monotonic() - hit[0] > self.ttl:
                return None
            self._data.move_to_end(key)
            return hit[1]

    def put(self, key: tuple[Any, ...], value: ProgressPublic) -> None:
        now = time.monotonic()
        with self._lock:
            self._data[key] = (now, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_size:
                self._data.popitem(last=False)
            # Entries are in insertion order, oldest first: drop the expired head.
            while self._data:
                oldest = next(iter(self._data.values()))
                if now - oldest[0] <= self.ttl:
                    break
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_cache: _Cache | None = None


def cache(settings: Settings) -> _Cache:
    global _cache
    c = settings.performance.caching
    if _cache is None:
        _cache = _Cache(c.max_size, c.progress_cache_ttl)
    return _cache


def progress(
    db: DbSession, settings: Settings, principal: Principal, range_: Range
) -> ProgressPublic:
    completed = (
        principal.owns(Evaluation)
        & (Evaluation.status == EvaluationStatus.COMPLETED.value)
        # Feedback still awaiting the coach's review is not the writer's to chart.
        & ~feedback.withheld()
    )
    stamp = db.execute(
        select(
            func.max(Evaluation.completed_at),
            func.count(Evaluation.id),
            # One review per evaluation at most, so the outer join keeps the count.
            func.max(Review.released_at),
            func.count(Review.released_at),
        )
        .select_from(Evaluation)
        .outerjoin(Review, Review.evaluation_id == Evaluation.id)
        .where(completed)
    ).one()
    business = business_config()
    key = (principal.owner_key, range_, *stamp, business.version)
    use_cache = settings.performance.caching.enabled
    if use_cache and (hit := cache(settings).get(key)) is not None:
        return hit
    result = _compute(
        db,
        principal,
        range_,
        completed,
        business.rubric.scale.min,
        business.rubric.scale.max,
        [c.name for c in business.rubric.criteria],
    )
    if use_cache:
        cache(settings).put(key, result)
    return result


def _compute(
    db: DbSession,
    principal: Principal,
    range_: Range,
    completed: Any,
    scale_min: int,
    scale_max: int,
    current_criteria: list[str],
) -> ProgressPublic:
    days = RANGE_DAYS[range_]
    conditions = [completed]
    since: datetime | None = None
    if days is not None:
        since = utcnow() - timedelta(days=days)
        conditions.append(Evaluation.completed_at >= since)
    rows = [
        _Row(*r)
        for r in db.execute(
            select(
                Evaluation.id,
                Evaluation.completed_at,
                Evaluation.overall_score,
                Evaluation.rubric_scores,
                Submission.title,
                Submission.version_number,
                Submission.lineage_id,
                Evaluation.assignment_id,
            )
            .join(Submission, Submission.id == Evaluation.submission_id)
            .where(*conditions)
            .order_by(Evaluation.completed_at, Evaluation.id)
        ).all()
    ]
    rows = _with_released_scores(db, rows)

    trends = [
        TrendPoint(
            evaluation_id=r.id,
            completed_at=r.completed_at,
            overall_score=r.overall_score,
            title=r.title,
            version_number=r.version_number,
            lineage_id=r.lineage_id,
        )
        for r in rows
        if r.overall_score is not None
    ]
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        for name, item in (r.rubric_scores or {}).items():
            series[name].append(
                {"evaluation_id": r.id, "completed_at": r.completed_at, "score": item["score"]}
            )
    # Current criteria first, in rubric order; retired ones after, so history stays visible.
    ordered = [n for n in current_criteria if n in series] + sorted(
        n for n in series if n not in current_criteria
    )
    improvements = {
        name: CriterionTrend(
            points=series[name],
            first=series[name][0]["score"],
            latest=series[name][-1]["score"],
            change=round(series[name][-1]["score"] - series[name][0]["score"], 2),
            average=round(statistics.mean(p["score"] for p in series[name]), 2),
        )
        for name in ordered
    }
    by_average = sorted(improvements, key=lambda n: (-improvements[n].average, n))
    strongest = (
        [n for n in by_average if improvements[n].average == improvements[by_average[0]].average]
        if by_average
        else []
    )
    weakest_avg = improvements[by_average[-1]].average if by_average else None
    weakest = (
        [n for n in by_average if improvements[n].average == weakest_avg] if by_average else []
    )

    unit: Literal["day", "week"] = "day" if days is not None and days <= 31 else "week"
    frequency = _frequency([r.completed_at for r in rows], unit, since)
    scores = [t.overall_score for t in trends]
    return ProgressPublic(
        range=range_,
        evaluations=len(trends),
        overall_trends=trends,
        rubric_improvements=improvements,
        submission_frequency=frequency,
        frequency_unit=unit,
        strongest_criteria=strongest[:3],
        weakest_criteria=weakest[:3],
        average_overall=round(statistics.mean(scores), 2) if scores else None,
        best_overall=max(scores) if scores else None,
        overall_change=round(scores[-1] - scores[0], 2) if len(scores) > 1 else None,
        scale={"min": scale_min, "max": scale_max},
        text_summary=_summary(trends, improvements, strongest, weakest),
    )


@dataclass(frozen=True)
class _Row:
    id: str
    completed_at: datetime
    overall_score: float | None
    rubric_scores: dict[str, Any] | None
    title: str | None
    version_number: int
    lineage_id: str
    assignment_id: str | None


def _with_released_scores(db: DbSession, rows: list[_Row]) -> list[_Row]:
    """The coach's final scores in place of the AI's where a review was released."""
    released = feedback.released_scores(db, [r.id for r in rows if r.assignment_id])
    return [
        dataclasses.replace(
            r,
            overall_score=released[r.id][0],
            rubric_scores={name: dict(item) for name, item in released[r.id][1].items()},
        )
        if r.id in released
        else r
        for r in rows
    ]


def _frequency(
    times: list[datetime], unit: Literal["day", "week"], since: datetime | None
) -> list[FrequencyPoint]:
    if not times:
        return []

    def bucket(t: datetime) -> datetime:
        day = t.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=day.weekday()) if unit == "week" else day

    counts: dict[datetime, int] = defaultdict(int)
    for t in times:
        counts[bucket(t)] += 1
    step = timedelta(days=7 if unit == "week" else 1)
    start = bucket(since) if since is not None else min(counts)
    end = bucket(utcnow())
    points = []
    current = start
    while current <= end:
        points.append(FrequencyPoint(period_start=current, count=counts.get(current, 0)))
        current += step
    return points


def _summary(
    trends: list[TrendPoint],
    improvements: dict[str, CriterionTrend],
    strongest: list[str],
    weakest: list[str],
) -> str:
    """A sentence a screen reader (or the PDF) can use instead of the chart."""
    if not trends:
        return "No completed evaluations in this period."
    first, last = trends[0].overall_score, trends[-1].overall_score
    parts = [
        f"{len(trends)} evaluation{'s' if len(trends) != 1 else ''}; overall score "
        f"from {first:.2f} to {last:.2f}."
    ]
    if strongest:
        parts.append(f"Strongest: {', '.join(strongest)}.")
    if weakest and weakest != strongest:
        parts.append(f"Needs most work: {', '.join(weakest)}.")
    moved = sorted(improvements.items(), key=lambda kv: -kv[1].change)
    if moved and moved[0][1].change > 0:
        parts.append(f"Most improved: {moved[0][0]} (+{moved[0][1].change:g}).")
    return " ".join(parts)
