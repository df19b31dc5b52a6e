"""Coaching logic without I/O: offline coach, diffs and deltas, PDF escaping."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memoai.coaching.offline_coach import reply
from memoai.coaching.report import build_pdf
from memoai.coaching.revisions import criterion_deltas, text_diff
from memoai.config import load_settings
from memoai.config.settings import _read_business
from memoai.evaluation.schemas import CriterionScore, EvaluationPublic, SegmentFeedback

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def business() -> Any:
    settings = load_settings({"CONFIG_DIR": str(REPO / "config"), "DATA_DIR": "/tmp/unused"})
    return _read_business(settings.runtime.config_dir, settings.lookup())


def scores(business: Any, **overrides: int) -> dict[str, Any]:
    return {
        c.name: {"score": overrides.get(c.id, 4), "justification": "j", "weight": c.weight}
        for c in business.rubric.criteria
    }


def test_offline_coach_says_it_is_offline_and_uses_the_rubric(business: Any) -> None:
    text = reply(business, scores(business, risks=2), "What should I fix first?", "en")
    assert text.startswith("(Offline coach")
    risks = next(c for c in business.rubric.criteria if c.id == "risks")
    assert risks.name in text
    assert risks.scoring_guidance[3] in text  # the next level's guidance


def test_offline_coach_follows_the_criterion_asked_about(business: Any) -> None:
    text = reply(business, scores(business, risks=1), "How is my financial case?", "en")
    assert "Financial Case" in text
    spanish = reply(business, scores(business), "¿Cómo mejoro?", "es")
    assert spanish.startswith("(Coach sin conexión")


def test_text_diff_and_deltas() -> None:
    ops = text_diff("Keep this. Drop this. Also keep.", "Keep this. Add that. Also keep.")
    assert [o.op for o in ops] == ["equal", "replace", "equal"]
    assert ops[1].old == "Drop this." and ops[1].new == "Add that."
    deltas = criterion_deltas(
        {"A": {"score": 2}, "Gone": {"score": 3}}, {"A": {"score": 4}, "New": {"score": 1}}
    )
    assert deltas["A"].delta == 2 and deltas["A"].direction == "up"
    assert deltas["New"].direction == "new" and deltas["Gone"].direction == "removed"


def test_pdf_escapes_markup_in_user_and_model_text(tmp_path: Path) -> None:
    hostile = "<b>not bold</b> & <font size=40>x</font> <script>alert(1)</script> €ñ"
    evaluation = EvaluationPublic(
        id="e1",
        status="completed",
        overall_score=3.2,
        strengths=[hostile],
        opportunities=["o"],
        rubric_scores={"Crit <i>": CriterionScore(score=3, justification=hostile, weight=100)},
        segment_feedback=[
            SegmentFeedback(segment=hostile, start=0, end=5, comment=hostile, questions=[hostile])
        ],
        language="en",
        llm_provider="offline",
        llm_model="m",
        offline=True,
        notice=None,
        processing_time=0.1,
        queue_wait=0.1,
        config_version="c",
        prompt_version="p",
        rubric={"scale": {"min": 1, "max": 5}},
        text_content=hostile + "\n\nSecond paragraph.",
        submission_id="s",
        version_number=1,
        previous_submission_id=None,
        created_at=datetime.now(UTC),
        completed_at=datetime.now(UTC),
        error=None,
        error_code=None,
        usage={},
    )
    path = tmp_path / "r.pdf"
    path.write_bytes(build_pdf(evaluation))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "<b>not bold</b>" in text and "<script>alert(1)</script>" in text
    assert "€ñ" in text
