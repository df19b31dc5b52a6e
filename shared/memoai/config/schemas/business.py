"""Schemas of the four business files: rubric, frameworks, context and prompt.

These are the files that hot-reload (see ``memoai.config.settings``): the
rubric with its scale and weighted criteria (weights sum to 100, every
criterion has guidance for every level), the writing frameworks, the
organisation and audience context, and the prompt texts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from memoai.config.schemas.common import Strict, Text


class RubricScale(Strict):
    min: int = 1
    max: int = 5
    labels: dict[int, Text]

    @model_validator(mode="after")
    def _check(self) -> RubricScale:
        if self.min >= self.max:
            raise ValueError("scale.min must be below scale.max")
        missing = [lvl for lvl in range(self.min, self.max + 1) if lvl not in self.labels]
        if missing:
            raise ValueError(f"scale.labels is missing levels {missing}")
        return self


class Criterion(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: Annotated[Text, Field(max_length=80)]
    description: Text
    weight: Annotated[float, Field(gt=0, le=100)]
    scoring_guidance: dict[int, Text]
    # Which deterministic analyser the offline evaluator uses for this criterion.
    offline_signal: (
        Literal["structure", "evidence", "financial", "ask", "risk", "readability"] | None
    ) = None


RubricId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
DEFAULT_RUBRIC_ID = "default"


class Rubric(Strict):
    # The id assignments pin; optional on the main rubric (it is "default" then).
    id: RubricId | None = None
    name: Text
    description: str = ""
    scale: RubricScale
    criteria: Annotated[list[Criterion], Field(min_length=1, max_length=12)]

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        total = sum(c.weight for c in self.criteria)
        if abs(total - 100) > 1e-6:
            raise ValueError(f"criteria weights must sum to 100, they sum to {total:g}")
        for field in ("id", "name"):
            seen: set[str] = set()
            for c in self.criteria:
                key = getattr(c, field).casefold()
                if key in seen:
                    raise ValueError(f"criterion {field} {getattr(c, field)!r} is used twice")
                seen.add(key)
        levels = set(range(self.scale.min, self.scale.max + 1))
        for c in self.criteria:
            if set(c.scoring_guidance) != levels:
                raise ValueError(
                    f"criterion {c.id!r}: scoring_guidance must have exactly the levels "
                    f"{sorted(levels)}, it has {sorted(c.scoring_guidance)}"
                )
        return self


class RubricFile(Strict):
    """The default rubric, and optionally more that a coach may pick for an assignment."""

    rubric: Rubric
    additional_rubrics: Annotated[list[Rubric], Field(max_length=20)] = []

    @model_validator(mode="after")
    def _check_ids(self) -> RubricFile:
        seen = {self.rubric.id or DEFAULT_RUBRIC_ID}
        for index, extra in enumerate(self.additional_rubrics):
            if extra.id is None:
                raise ValueError(f"additional_rubrics[{index}] needs an id")
            if extra.id in seen:
                raise ValueError(f"rubric id {extra.id!r} is used twice")
            seen.add(extra.id)
        return self


class Framework(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: Text
    summary: Text
    how_to_apply: Annotated[list[Text], Field(min_length=1)]
    questions: list[Text] = []


class FrameworksFile(Strict):
    frameworks: Annotated[list[Framework], Field(min_length=1)]


class Audience(Strict):
    description: Text
    priorities: list[Text] = []
    reading_habits: str = ""


class Context(Strict):
    organization: Text
    domain: Text
    audience: Audience
    purpose: Text
    memo_types: list[Text] = []
    expectations: list[Text] = []
    tone: str = ""
    length_guidance: str = ""


class ContextFile(Strict):
    context: Context


class Prompt(Strict):
    version: Text
    system: Text
    evaluation: Text
    repair: Text
    chat_system: Text


class PromptFile(Strict):
    prompt: Prompt
