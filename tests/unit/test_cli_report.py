"""`memoai evaluate`'s terminal output, from an evaluation JSON (no I/O)."""

from __future__ import annotations

from typing import Any

from memoai_cli import report

TEXT = (
    "TO: Board\nSUBJECT: Approve $2M for a second MRI\n\n"
    "We ask for $2M by June.\nWaits are 41 days today, against 14 in the region.\n"
)


def evaluation(**changes: Any) -> dict[str, Any]:
    sentence = "Waits are 41 days today, against 14 in the region."
    start = TEXT.index(sentence)
    base: dict[str, Any] = {
        "id": "ev-1",
        "status": "completed",
        "overall_score": 3.65,
        "strengths": ["States the ask in the subject line."],
        "opportunities": ["Name the risks and how you would handle them."],
        "rubric_scores": {
            # Deliberately not in rubric order: the table follows the rubric.
            "Risks": {"score": 2, "justification": "No risk is named.", "weight": 10},
            "Bottom line": {"score": 4, "justification": "The ask comes first.", "weight": 30},
            "Evidence": {"score": 4, "justification": "Two figures, one benchmark.", "weight": 10},
        },
        "segment_feedback": [
            {
                "segment": sentence,
                "start": start,
                "end": start + len(sentence),
                "comment": "A baseline and a benchmark: good evidence.",
                "questions": ["Where does the regional figure come from?"],
            }
        ],
        "language": "en",
        "llm_provider": "offline",
        "llm_model": "offline-heuristic-v1",
        "offline": True,
        "notice": "Offline evaluation: scores are indicative.",
        "processing_time": 0.25,
        "rubric": {
            "name": "Memo rubric",
            "scale": {"min": 1, "max": 5},
            "criteria": [
                {"id": "bl", "name": "Bottom line", "weight": 30},
                {"id": "ev", "name": "Evidence", "weight": 10},
                {"id": "rk", "name": "Risks", "weight": 10},
            ],
        },
        "text_content": TEXT,
        "error": None,
        "error_code": None,
    }
    base.update(changes)
    return base


def test_numbers_keep_at_most_two_decimals_and_no_trailing_zeros() -> None:
    assert [report.number(v) for v in (4.0, 3.5, 3.654, 0.0, None)] == [
        "4",
        "3.5",
        "3.65",
        "0",
        "-",
    ]


def test_score_rows_follow_the_rubric_order_with_weights_as_shares_of_the_total() -> None:
    assert report.score_rows(evaluation()) == [
        ("Bottom line", "4 / 5", "60%", "The ask comes first."),
        ("Evidence", "4 / 5", "20%", "Two figures, one benchmark."),
        ("Risks", "2 / 5", "20%", "No risk is named."),
    ]


def test_the_provider_label_says_offline_evaluator_or_names_the_model() -> None:
    assert report.provider_label(evaluation()) == "offline evaluator"
    claude = evaluation(offline=False, llm_provider="claude", llm_model="claude-sonnet-5-5")
    assert report.provider_label(claude) == "claude (claude-sonnet-5-5)"
    assert report.provider_label(evaluation(offline=False, llm_provider=None)) == "not recorded"


def test_the_last_column_wraps_under_itself_and_nothing_passes_the_width() -> None:
    rows = [("A", "word " * 30), ("Longer name", "short")]
    lines = report.table(("Name", "Text"), rows, width=40)
    assert lines[0] == "  Name         Text"
    assert all(len(line) <= 40 for line in lines)
    continuation = lines[2]
    assert continuation.startswith(" " * 15) and continuation.strip().startswith("word")
    assert lines[-1] == "  Longer name  short"


def test_an_id_is_never_split_even_when_it_is_wider_than_the_column() -> None:
    long_id = "0193f2c4-7d1e-7b3a-9c55-4e1f2a3b4c5d"
    lines = report.table(("File", "Evaluation"), [("x" * 50, long_id)], width=60)
    assert long_id in lines[1]


def test_render_shows_scores_strengths_opportunities_and_each_quoted_comment() -> None:
    text = report.render(evaluation(), "memo.txt", width=80)
    assert text.startswith("== memo.txt\n")
    assert (
        "\nEvaluation ev-1: completed\nProvider: offline evaluator - language en - 0.25 s\n" in text
    )
    assert "Offline evaluation: scores are indicative." in text
    assert "Overall score: 3.65 / 5 (Memo rubric)" in text
    assert "  Bottom line  4 / 5  60%     The ask comes first." in text
    assert "  - States the ask in the subject line." in text
    assert "  - Name the risks and how you would handle them." in text
    assert "Comments (1)" in text
    # The passage is quoted with the line it starts on, then the comment and its question.
    assert '  1. line 5: "Waits are 41 days today, against 14 in the region."' in text
    assert "     A baseline and a benchmark: good evidence." in text
    assert "     ? Where does the regional figure come from?" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_a_failed_evaluation_shows_its_error_and_no_scores() -> None:
    failed = evaluation(
        status="failed",
        overall_score=None,
        rubric_scores={},
        segment_feedback=[],
        error="The AI provider could not complete the evaluation: overloaded",
        error_code="llm_unavailable",
        offline=False,
        llm_provider="claude",
        llm_model=None,
        notice=None,
    )
    text = report.render(failed, "memo.txt")
    assert (
        "Evaluation failed: The AI provider could not complete the evaluation: overloaded "
        "(llm_unavailable)" in text
    )
    assert "Overall score" not in text and "Scores" not in text


def test_the_summary_counts_what_was_evaluated_and_lists_each_file() -> None:
    outcomes = [
        report.Outcome("a.txt", "completed", evaluation()),
        report.Outcome("b.txt", "failed", evaluation(id="ev-2", status="failed")),
        report.Outcome("c.txt", "not evaluated"),
    ]
    lines = report.summary(outcomes).splitlines()
    assert lines[0] == "Summary: 1 of 3 evaluated"
    assert lines[1].split() == ["File", "Status", "Score", "Evaluation"]
    assert lines[2].split() == ["a.txt", "completed", "3.65", "/", "5", "ev-1"]
    assert lines[3].split() == ["b.txt", "failed", "-", "ev-2"]
    assert lines[4].split() == ["c.txt", "not", "evaluated", "-", "-"]
