"""PDF report generation time for a 10,000-character memo (goal: under 2 s).

Builds a full report (offline evaluation of the memo, progress chart with 20
points, comparison with a previous version) 20 times and prints p50/p95/max.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from memoai.coaching.progress import CriterionTrend, ProgressPublic, TrendPoint  # noqa: E402
from memoai.coaching.report import build_pdf  # noqa: E402
from memoai.config import load_settings  # noqa: E402
from memoai.config.settings import _read_business  # noqa: E402
from memoai.evaluation.draft import parse_draft  # noqa: E402
from memoai.evaluation.grounding import Locator  # noqa: E402
from memoai.evaluation.offline import evaluate_offline  # noqa: E402
from memoai.evaluation.schemas import CriterionScore, EvaluationPublic, SegmentFeedback  # noqa: E402
from memoai.evaluation.scoring import weighted_overall  # noqa: E402
from tests.support.stack import load_memos  # noqa: E402


def memo_of_length(chars: int) -> str:
    texts = [m["text"] for m in load_memos() if m["language"] == "en"]
    out = ""
    while len(out) < chars:
        out += texts[len(out) % len(texts)] + "\n\n"
    return out[:chars]


def main() -> None:
    settings = load_settings({"CONFIG_DIR": str(REPO / "config"), "DATA_DIR": "/tmp/memoai-bench"})
    business = _read_business(settings.runtime.config_dir, settings.lookup())
    text = memo_of_length(10_000)
    draft = parse_draft(evaluate_offline(text, business.rubric, "en"), business.rubric)
    locator = Locator(text)
    segments = []
    for s in draft.segment_feedback:
        found = locator.locate(s.segment)
        if found:
            segments.append(
                SegmentFeedback(
                    segment=found.segment,
                    start=found.start,
                    end=found.end,
                    comment=s.comment,
                    questions=s.questions,
                )
            )
    weights = {c.name: c.weight for c in business.rubric.criteria}
    now = datetime.now(UTC)
    evaluation = EvaluationPublic(
        id="bench",
        status="completed",
        overall_score=weighted_overall(
            business.rubric, {s.criterion: s.score for s in draft.rubric_scores}
        ),
        strengths=draft.strengths,
        opportunities=draft.opportunities,
        rubric_scores={
            s.criterion: CriterionScore(
                score=s.score, justification=s.justification, weight=weights[s.criterion]
            )
            for s in draft.rubric_scores
        },
        segment_feedback=segments,
        language="en",
        llm_provider="offline",
        llm_model="offline",
        offline=True,
        notice=None,
        processing_time=0.1,
        queue_wait=0.0,
        config_version="x",
        prompt_version="x",
        rubric={"scale": {"min": 1, "max": 5}},
        text_content=text,
        submission_id="s",
        version_number=2,
        previous_submission_id="p",
        created_at=now,
        completed_at=now,
        error=None,
        error_code=None,
        usage={},
    )
    points = [
        TrendPoint(
            evaluation_id=str(i),
            completed_at=now - timedelta(days=20 - i),
            overall_score=2 + i / 10,
            title="t",
            version_number=1,
            lineage_id="l",
        )
        for i in range(20)
    ]
    progress = ProgressPublic(
        range="all",
        evaluations=20,
        overall_trends=points,
        rubric_improvements={
            n: CriterionTrend(points=[], first=2, latest=4, change=2, average=3) for n in weights
        },
        submission_frequency=[],
        frequency_unit="week",
        strongest_criteria=[],
        weakest_criteria=[],
        average_overall=3.0,
        best_overall=4.0,
        overall_change=2.0,
        scale={"min": 1, "max": 5},
        text_summary="20 evaluations; overall score from 2 to 3.9.",
    )
    build_pdf(evaluation, None, progress)  # warm-up: font registration
    times = []
    for _ in range(20):
        started = time.perf_counter()
        data = build_pdf(evaluation, None, progress)
        times.append(time.perf_counter() - started)
    times.sort()
    result = {
        "memo_chars": len(text),
        "pdf_bytes": len(data),
        "runs": len(times),
        "p50_s": round(statistics.median(times), 3),
        "p95_s": round(times[int(0.95 * len(times)) - 1], 3),
        "max_s": round(times[-1], 3),
        "goal_s": 2.0,
    }
    print(
        f"PDF report, {len(text):,}-character memo: p50 {result['p50_s']} s, "
        f"p95 {result['p95_s']} s, max {result['max_s']} s ({len(data):,} bytes; goal < 2 s)"
    )
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pdf-latest.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
