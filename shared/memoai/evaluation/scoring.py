"""Scores computed by the service, never taken from the model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memoai.config.schemas import Rubric


def weighted_overall(rubric: Rubric, scores: Mapping[str, float]) -> float:
    """Weighted mean of criterion scores (keyed by criterion name) by rubric weight."""
    total_weight = 0.0
    total = 0.0
    for criterion in rubric.criteria:
        if criterion.name not in scores:
            raise KeyError(f"no score for criterion {criterion.name!r}")
        total += scores[criterion.name] * criterion.weight
        total_weight += criterion.weight
    return round(total / total_weight, 2)


def rubric_snapshot(rubric: Rubric) -> dict[str, Any]:
    """What an evaluation stores so it stays explainable after the rubric changes."""
    return {
        "name": rubric.name,
        "scale": {"min": rubric.scale.min, "max": rubric.scale.max},
        "criteria": [{"id": c.id, "name": c.name, "weight": c.weight} for c in rubric.criteria],
    }
