"""Validation of a provider's evaluation against the rubric, and the weighted score."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import anthropic
import pytest
from anthropic.types.model_param import ModelParam

from memoai.config import load_settings
from memoai.config.schemas import ProviderConfig
from memoai.config.settings import _read_business
from memoai.evaluation.draft import DraftInvalid, output_schema, parse_draft
from memoai.evaluation.scoring import weighted_overall
from memoai.llm.jsonparse import extract_json

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rubric() -> Any:
    settings = load_settings({"CONFIG_DIR": str(REPO / "config"), "DATA_DIR": "/tmp/unused"})
    return _read_business(settings.runtime.config_dir, settings.lookup()).rubric


def valid(rubric: Any) -> dict[str, Any]:
    return {
        "language": "en",
        "strengths": ["Clear ask."],
        "opportunities": ["Add risks."],
        "rubric_scores": [
            {"criterion": c.name, "score": 3, "justification": "Because."} for c in rubric.criteria
        ],
        "segment_feedback": [{"segment": "quote", "comment": "c", "questions": ["q?"]}],
    }


def test_a_valid_answer_parses_in_rubric_order(rubric: Any) -> None:
    data = valid(rubric)
    data["rubric_scores"].reverse()
    data["rubric_scores"][0]["criterion"] = data["rubric_scores"][0]["criterion"].upper()
    draft = parse_draft(data, rubric)
    assert [s.criterion for s in draft.rubric_scores] == [c.name for c in rubric.criteria]


def test_criteria_as_a_mapping_and_float_scores_are_accepted(rubric: Any) -> None:
    data = valid(rubric)
    data["rubric_scores"] = {c.name: {"score": 4.0, "justification": "ok"} for c in rubric.criteria}
    assert {s.score for s in parse_draft(data, rubric).rubric_scores} == {4}


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda d: d["rubric_scores"].pop(), "missing scores"),
        (lambda d: d["rubric_scores"][0].update(score=6), "outside 1-5"),
        (lambda d: d["rubric_scores"][0].update(score=3.5), "rubric_scores.0.score"),
        (lambda d: d["rubric_scores"].append(dict(d["rubric_scores"][0])), "scored twice"),
        (lambda d: d["rubric_scores"][0].update(criterion="Vibes"), "unknown criterion"),
        (lambda d: d.update(strengths=[]), "strengths"),
        (lambda d: d.pop("opportunities"), "opportunities"),
    ],
)
def test_invalid_answers_explain_the_problem(rubric: Any, mutate: Any, problem: str) -> None:
    data = valid(rubric)
    mutate(data)
    with pytest.raises(DraftInvalid) as info:
        parse_draft(data, rubric)
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_non_object_answer_is_invalid(rubric: Any) -> None:
    with pytest.raises(DraftInvalid):
        parse_draft(["not", "an", "object"], rubric)


def test_weighted_overall_uses_rubric_weights(rubric: Any) -> None:
    scores = {c.name: 5 for c in rubric.criteria}
    assert weighted_overall(rubric, scores) == 5.0
    heavy = max(rubric.criteria, key=lambda c: c.weight)
    scores = {c.name: (1 if c.name == heavy.name else 5) for c in rubric.criteria}
    assert weighted_overall(rubric, scores) == pytest.approx(5 - 4 * heavy.weight / 100)


def test_schema_lists_the_rubric_criteria(rubric: Any) -> None:
    schema = output_schema(rubric)
    enum = schema["properties"]["rubric_scores"]["items"]["properties"]["criterion"]["enum"]
    assert enum == [c.name for c in rubric.criteria]
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('{"a": 1}', True),
        ('Here:\n```json\n{"a": 1}\n```', True),
        ('x {"a": 1} y', True),
        ("not json", False),
        ('{"a": ', False),
    ],
)
def test_tolerant_json_extraction(text: str, ok: bool) -> None:
    data, error = extract_json(text)
    assert (data == {"a": 1}) is ok
    assert (error is None) is ok


def test_default_model_is_current_in_the_sdk() -> None:
    default = ProviderConfig().model
    from anthropic.resources.messages.messages import DEPRECATED_MODELS

    models = get_args(get_args(ModelParam)[0])
    assert default in models
    assert default not in DEPRECATED_MODELS
    assert (REPO / "config" / "llm.yaml").read_text().count(f"LLM_MODEL:-{default}") == 1
    assert anthropic.__version__
