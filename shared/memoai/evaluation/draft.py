"""The evaluation as a provider returns it, its JSON schema, and its validation."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from memoai.config.schemas import Rubric

NonEmpty = Annotated[str, Field(min_length=1, max_length=4000)]


class CriterionScoreDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    criterion: NonEmpty
    score: int
    justification: NonEmpty

    @field_validator("score", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        # 4.0 is fine; 3.5 is not a level of the scale.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        return value


class SegmentDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    segment: NonEmpty
    comment: NonEmpty
    questions: Annotated[list[NonEmpty], Field(max_length=6)] = []


class EvaluationDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    language: str | None = None
    strengths: Annotated[list[NonEmpty], Field(min_length=1, max_length=10)]
    opportunities: Annotated[list[NonEmpty], Field(min_length=1, max_length=10)]
    rubric_scores: Annotated[list[CriterionScoreDraft], Field(min_length=1)]
    segment_feedback: Annotated[list[SegmentDraft], Field(max_length=20)] = []

    @field_validator("rubric_scores", mode="before")
    @classmethod
    def _accept_mapping(cls, value: Any) -> Any:
        # Some models answer {"Criterion": {"score": 4, ...}}; accept that shape too.
        if isinstance(value, dict):
            return [
                {"criterion": k, **v} if isinstance(v, dict) else {"criterion": k, "score": v}
                for k, v in value.items()
            ]
        return value


class DraftInvalid(Exception):
    """The provider's output cannot be used; ``problems`` says why, for the repair prompt."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_draft(data: Any, rubric: Rubric) -> EvaluationDraft:
    """Validate shape and rubric fit; criterion names come back canonical and in order."""
    if not isinstance(data, dict):
        raise DraftInvalid(["the answer is not a JSON object"])
    try:
        draft = EvaluationDraft.model_validate(data)
    except ValidationError as exc:
        raise DraftInvalid(
            [
                f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
                for err in exc.errors()[:10]
            ]
        ) from exc

    problems: list[str] = []
    by_key = {c.name.casefold(): c for c in rubric.criteria}
    by_key.update({c.id.casefold(): c for c in rubric.criteria})
    found: dict[str, CriterionScoreDraft] = {}
    for item in draft.rubric_scores:
        criterion = by_key.get(item.criterion.strip().casefold())
        if criterion is None:
            problems.append(f"unknown criterion {item.criterion!r}")
            continue
        if criterion.name in found:
            problems.append(f"criterion {criterion.name!r} is scored twice")
            continue
        if not rubric.scale.min <= item.score <= rubric.scale.max:
            problems.append(
                f"score {item.score} for {criterion.name!r} is outside "
                f"{rubric.scale.min}-{rubric.scale.max}"
            )
            continue
        found[criterion.name] = item.model_copy(update={"criterion": criterion.name})
    missing = [c.name for c in rubric.criteria if c.name not in found]
    if missing:
        problems.append(f"missing scores for {missing}")
    if problems:
        raise DraftInvalid(problems)
    ordered = [found[c.name] for c in rubric.criteria]
    return draft.model_copy(update={"rubric_scores": ordered})


def output_schema(rubric: Rubric) -> dict[str, Any]:
    """JSON schema for structured output (also the forced tool's input schema).

    Kept to the subset structured-output engines accept (no numeric bounds,
    every property required); bounds are enforced by `parse_draft`.
    """
    names = [c.name for c in rubric.criteria]
    text_list = {"type": "array", "items": {"type": "string"}}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "language",
            "strengths",
            "opportunities",
            "rubric_scores",
            "segment_feedback",
        ],
        "properties": {
            "language": {
                "type": "string",
                "description": "ISO 639-1 code of the memo's language, e.g. en or es",
            },
            "strengths": {**text_list, "description": "3-5 specific strengths"},
            "opportunities": {**text_list, "description": "3-5 specific improvements"},
            "rubric_scores": {
                "type": "array",
                "description": "exactly one entry per rubric criterion",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["criterion", "score", "justification"],
                    "properties": {
                        "criterion": {"type": "string", "enum": names},
                        "score": {
                            "type": "integer",
                            "description": (
                                f"whole number from {rubric.scale.min} to {rubric.scale.max}"
                            ),
                        },
                        "justification": {"type": "string"},
                    },
                },
            },
            "segment_feedback": {
                "type": "array",
                "description": "4-8 inline comments on exact passages",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["segment", "comment", "questions"],
                    "properties": {
                        "segment": {
                            "type": "string",
                            "description": "a passage copied exactly from the memo",
                        },
                        "comment": {"type": "string"},
                        "questions": {**text_list, "description": "1-3 insight questions"},
                    },
                },
            },
        },
    }
