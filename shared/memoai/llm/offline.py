"""The offline provider: no network, deterministic, labelled "offline"."""

from __future__ import annotations

from typing import Any

from memoai.config.schemas import Rubric
from memoai.evaluation.offline import MODEL_NAME, evaluate_offline


class OfflineProvider:
    name = "offline"
    model = MODEL_NAME

    def evaluate(self, text: str, rubric: Rubric, language: str) -> dict[str, Any]:
        return evaluate_offline(text, rubric, language)
